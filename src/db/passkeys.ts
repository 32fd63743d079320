/**
 * The statements of passkeys and of their challenges. Every statement on a passkey names its
 * owner, so one user's id never reaches another user's credential.
 */
import { and, eq, gt, inArray, isNull, lte, sql, type SQL } from 'drizzle-orm';
import type { Database } from './client';
import { passkeys, webauthnChallenges } from './schema';

const PRUNE_BATCH = 20;

const listed = {
  id: passkeys.id,
  name: passkeys.name,
  createdAt: passkeys.createdAt,
  lastUsedAt: passkeys.lastUsedAt,
  deviceType: passkeys.deviceType,
  backedUp: passkeys.backedUp,
};

/** A user's passkeys, oldest first, with what the verification needs. */
export const findPasskeys = (db: Database, userId: number, limit: number) =>
  db
    .select({
      ...listed,
      credentialId: passkeys.credentialId,
      publicKey: passkeys.publicKey,
      counter: passkeys.counter,
      transports: passkeys.transports,
      userHandle: passkeys.userHandle,
    })
    .from(passkeys)
    .where(eq(passkeys.userId, userId))
    .orderBy(passkeys.id)
    .limit(limit);

export async function countPasskeys(db: Database, userId: number): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)` })
    .from(passkeys)
    .where(eq(passkeys.userId, userId));
  return row?.n ?? 0;
}

export const findPasskeyByCredential = (db: Database, credentialId: string) =>
  db.query.passkeys.findFirst({ where: eq(passkeys.credentialId, credentialId) });

export type NewPasskey = typeof passkeys.$inferInsert;

export const insertPasskey = (db: Database, passkey: NewPasskey) =>
  db.insert(passkeys).values(passkey).onConflictDoNothing().returning(listed);

export const renamePasskey = (db: Database, userId: number, id: number, name: string) =>
  db
    .update(passkeys)
    .set({ name })
    .where(and(eq(passkeys.id, id), eq(passkeys.userId, userId)))
    .returning(listed);

export const deletePasskey = (db: Database, userId: number, id: number) =>
  db
    .delete(passkeys)
    .where(and(eq(passkeys.id, id), eq(passkeys.userId, userId)))
    .returning({ id: passkeys.id });

export const deleteAllPasskeys = (db: Database, userId: number) =>
  db.delete(passkeys).where(eq(passkeys.userId, userId));

/**
 * Records a use: the new sign count (only forward, so of two requests with one old assertion
 * at most one moves it; a counter of 0 means the authenticator keeps none), the backup state.
 */
export const recordPasskeyUse = (
  db: Database,
  id: number,
  use: { previousCounter: number; newCounter: number; backedUp: boolean; at: Date },
) =>
  db
    .update(passkeys)
    .set({ counter: use.newCounter, backedUp: use.backedUp, lastUsedAt: use.at })
    .where(and(eq(passkeys.id, id), eq(passkeys.counter, use.previousCounter)))
    .returning({ id: passkeys.id });

export type ChallengePurpose = (typeof webauthnChallenges.$inferInsert)['purpose'];

/** What a challenge is bound to: a user, a login's second step (its mfa_token's jti), or nobody. */
export interface ChallengeBinding {
  purpose: ChallengePurpose;
  userId?: number;
  mfaJti?: string;
}

/** What is stored with a challenge besides its binding. */
interface ChallengeData {
  userHandle?: string;
}

/** Stores a challenge for its binding, and prunes expired ones (bounded) in the same batch. */
export async function storeChallenge(
  db: Database,
  challenge: string,
  binding: ChallengeBinding,
  { now, lifetimeSeconds, userHandle }: ChallengeData & { now: Date; lifetimeSeconds: number },
) {
  await db.batch([
    db.insert(webauthnChallenges).values({
      challenge,
      purpose: binding.purpose,
      userId: binding.userId ?? null,
      mfaJti: binding.mfaJti ?? null,
      userHandle: userHandle ?? null,
      expiresAt: new Date(now.getTime() + lifetimeSeconds * 1000),
    }),
    db
      .delete(webauthnChallenges)
      .where(
        inArray(
          webauthnChallenges.challenge,
          db
            .select({ challenge: webauthnChallenges.challenge })
            .from(webauthnChallenges)
            .where(lte(webauthnChallenges.expiresAt, now))
            .orderBy(webauthnChallenges.expiresAt)
            .limit(PRUNE_BATCH),
        ),
      ),
  ]);
}

const boundTo = (
  column: typeof webauthnChallenges.userId | typeof webauthnChallenges.mfaJti,
  value: number | string | undefined,
): SQL => (value === undefined ? isNull(column) : eq(column, value));

/**
 * Takes a challenge (deletes it, so it is used once): what was stored with it when it was
 * outstanding, unexpired and issued for exactly this binding; undefined otherwise.
 */
export async function takeChallenge(
  db: Database,
  challenge: string,
  binding: ChallengeBinding,
  now: Date,
): Promise<ChallengeData | undefined> {
  const taken = await db
    .delete(webauthnChallenges)
    .where(
      and(
        eq(webauthnChallenges.challenge, challenge),
        eq(webauthnChallenges.purpose, binding.purpose),
        boundTo(webauthnChallenges.userId, binding.userId),
        boundTo(webauthnChallenges.mfaJti, binding.mfaJti),
        gt(webauthnChallenges.expiresAt, now),
      ),
    )
    .returning({ userHandle: webauthnChallenges.userHandle });
  const [row] = taken;
  return row && { userHandle: row.userHandle ?? undefined };
}

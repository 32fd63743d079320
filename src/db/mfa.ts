/**
 * The statements of second factors: the authenticator app's row, recovery codes, the per-user
 * limit on wrong codes, and the rows that count a login's second-step tries.
 */
import { and, eq, gt, inArray, isNotNull, lt, lte, sql } from 'drizzle-orm';
import type { Database } from './client';
import { mfaLogins, recoveryCodes, sessions, totpFactors, users } from './schema';

/** Wrong codes a user may send per window, over every route that takes one. */
export const MAX_CODE_FAILURES = 10;
export const CODE_FAILURE_WINDOW_SECONDS = 15 * 60;
/** Codes one login's second step may try. */
export const MFA_LOGIN_TRIES = 5;
const PRUNE_BATCH = 20;

export const findTotp = (db: Database, userId: number) =>
  db.query.totpFactors.findFirst({ where: eq(totpFactors.userId, userId) });

export async function countRecoveryCodes(db: Database, userId: number): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)` })
    .from(recoveryCodes)
    .where(eq(recoveryCodes.userId, userId));
  return row?.n ?? 0;
}

/** What a login's second step accepts for the user (`methods` of the `mfa_required` answer). */
export async function secondStepMethods(db: Database, userId: number): Promise<string[]> {
  const [row] = await db
    .select({
      totp: sql<number>`exists(select 1 from totp_factors as factor where factor.user_id = ${userId} and factor.secret is not null)`,
      passkeys: sql<number>`exists(select 1 from passkeys as passkey where passkey.user_id = ${userId})`,
    })
    .from(users)
    .where(eq(users.id, userId));
  return [...(row?.totp ? ['totp', 'recovery_code'] : []), ...(row?.passkeys ? ['webauthn'] : [])];
}

/** A pending enrolment: replaces any earlier pending secret, keeps a confirmed one until confirmed. */
export const storePendingTotp = (db: Database, userId: number, sealed: string) =>
  db
    .insert(totpFactors)
    .values({ userId, pendingSecret: sealed })
    .onConflictDoUpdate({ target: totpFactors.userId, set: { pendingSecret: sealed } });

/**
 * The statements that end every batch adding or removing a factor: `users.mfa_enabled` set from
 * the factors themselves (a confirmed authenticator app, a passkey), the token version raised
 * (every refresh chain and session of the user ends), and the caller's own browser session, if
 * any, kept at the new version.
 */
export const afterFactorChange = (db: Database, userId: number, keepFamily: string | undefined) =>
  [
    db
      .update(users)
      .set({
        tokenVersion: sql`${users.tokenVersion} + 1`,
        mfaEnabled: sql`exists(select 1 from totp_factors as factor where factor.user_id = ${userId} and factor.secret is not null) or exists(select 1 from passkeys as passkey where passkey.user_id = ${userId})`,
      })
      .where(eq(users.id, userId)),
    db
      .update(sessions)
      .set({ tokenVersion: sql`(select holder.token_version from users as holder where holder.id = ${userId})` })
      .where(and(eq(sessions.userId, userId), eq(sessions.family, keepFamily ?? ''))),
  ] as const;

/** The recovery codes' rows: the old ones deleted, the new hashes inserted. */
export const replaceRecoveryCodes = (db: Database, userId: number, hashes: readonly string[]) =>
  [
    db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)),
    db.insert(recoveryCodes).values(hashes.map((codeHash) => ({ userId, codeHash }))),
  ] as const;

/**
 * Confirms the pending secret `sealed` (unless another request replaced it meanwhile): it becomes
 * the secret, `step` the last one used.
 */
export const confirmTotp = (db: Database, userId: number, sealed: string, step: number, now: Date) =>
  db
    .update(totpFactors)
    .set({ secret: sealed, pendingSecret: null, lastStep: step, confirmedAt: now, failures: 0 })
    .where(and(eq(totpFactors.userId, userId), eq(totpFactors.pendingSecret, sealed)))
    .returning({ userId: totpFactors.userId });

export const deleteTotp = (db: Database, userId: number) =>
  db.delete(totpFactors).where(eq(totpFactors.userId, userId)).returning({ userId: totpFactors.userId });

/** Takes time step `step` (once: a step at or before the last one used is refused). */
export const useTotpStep = (db: Database, userId: number, step: number) =>
  db
    .update(totpFactors)
    .set({ lastStep: step, failures: 0 })
    .where(and(eq(totpFactors.userId, userId), isNotNull(totpFactors.secret), lt(totpFactors.lastStep, step)))
    .returning({ userId: totpFactors.userId });

/** Deletes one unused recovery code of the user with this hash; answers it if there was one. */
export const useRecoveryCode = (db: Database, userId: number, codeHash: string) =>
  db
    .delete(recoveryCodes)
    .where(
      eq(
        recoveryCodes.id,
        sql`(select code.id from recovery_codes as code where code.user_id = ${userId} and code.code_hash = ${codeHash} limit 1)`,
      ),
    )
    .returning({ id: recoveryCodes.id });

/** Counts a wrong code; a window that has passed starts again at one. */
export const countCodeFailure = (db: Database, userId: number, now: Date) => {
  const windowOver = sql`${totpFactors.failuresResetAt} <= ${now.getTime()}`;
  return db
    .update(totpFactors)
    .set({
      failures: sql`case when ${windowOver} then 1 else ${totpFactors.failures} + 1 end`,
      failuresResetAt: sql`case when ${windowOver} then ${now.getTime() + CODE_FAILURE_WINDOW_SECONDS * 1000} else ${totpFactors.failuresResetAt} end`,
    })
    .where(eq(totpFactors.userId, userId));
};

/** Seconds until the user may try codes again; 0 when they may now. */
export const codeLockSeconds = (factor: { failures: number; failuresResetAt: Date } | undefined, now: Date) =>
  factor && factor.failures >= MAX_CODE_FAILURES && factor.failuresResetAt > now
    ? Math.ceil((factor.failuresResetAt.getTime() - now.getTime()) / 1000)
    : 0;

/** The row of a login's second step, and expired rows pruned (bounded) in the same batch. */
export async function startMfaLogin(db: Database, jti: string, userId: number, expiresAt: Date, now: Date) {
  await db.batch([
    db.insert(mfaLogins).values({ jti, userId, expiresAt }),
    db
      .delete(mfaLogins)
      .where(
        inArray(
          mfaLogins.jti,
          db
            .select({ jti: mfaLogins.jti })
            .from(mfaLogins)
            .where(lte(mfaLogins.expiresAt, now))
            .orderBy(mfaLogins.expiresAt)
            .limit(PRUNE_BATCH),
        ),
      ),
  ]);
}

/** Counts one try of the second step; undefined when it is done, expired or out of tries. */
export const tryMfaLogin = (db: Database, jti: string, userId: number, now: Date) =>
  db
    .update(mfaLogins)
    .set({ tries: sql`${mfaLogins.tries} + 1` })
    .where(
      and(
        eq(mfaLogins.jti, jti),
        eq(mfaLogins.userId, userId),
        eq(mfaLogins.done, false),
        lt(mfaLogins.tries, MFA_LOGIN_TRIES),
        gt(mfaLogins.expiresAt, now),
      ),
    )
    .returning({ tries: mfaLogins.tries });

/** Whether the second step can still end in a token (without counting a try). */
export async function isMfaLoginOpen(db: Database, jti: string, userId: number, now: Date): Promise<boolean> {
  const row = await db.query.mfaLogins.findFirst({
    columns: { jti: true },
    where: and(
      eq(mfaLogins.jti, jti),
      eq(mfaLogins.userId, userId),
      eq(mfaLogins.done, false),
      lt(mfaLogins.tries, MFA_LOGIN_TRIES),
      gt(mfaLogins.expiresAt, now),
    ),
  });
  return row !== undefined;
}

/** Ends the second step once it gave a token (only one request can). */
export const finishMfaLogin = (db: Database, jti: string) =>
  db
    .update(mfaLogins)
    .set({ done: true })
    .where(and(eq(mfaLogins.jti, jti), eq(mfaLogins.done, false)))
    .returning({ jti: mfaLogins.jti });

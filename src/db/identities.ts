/**
 * The statements of sign-in through other providers (src/routes/external.ts): the user an external
 * account is linked to, a new account made from one, and a user's linked accounts. An identity is
 * found by (provider, subject) only, never by email.
 */
import { and, asc, eq, sql } from 'drizzle-orm';
import { insertEvent, type EventOrigin } from './audit';
import type { Database } from './client';
import { identities, users } from './schema';

/** What a login needs of the user. */
const loginColumns = {
  id: users.id,
  username: users.username,
  isActive: users.isActive,
  isStaff: users.isStaff,
  tokenVersion: users.tokenVersion,
  mfaEnabled: users.mfaEnabled,
};

/** The user of a linked account, with what a login needs. */
export async function findIdentityUser(db: Database, provider: string, subject: string) {
  const [row] = await db
    .select({
      identityId: identities.id,
      user: loginColumns,
    })
    .from(identities)
    .innerJoin(users, eq(users.id, identities.userId))
    .where(and(eq(identities.provider, provider), eq(identities.subject, subject)))
    .limit(1);
  return row;
}

export interface FederatedAccount {
  username: string;
  /** An unusable password (Django's `!...`): none works until the user sets one. */
  password: string;
  /** The provider's address, only when it verified it; else none. */
  email: string;
  emailVerified: boolean;
  provider: string;
  subject: string;
  /** What the provider said, verified or not, kept with the identity. */
  identityEmail: string | undefined;
  identityEmailVerified: boolean;
  now: Date;
}

/**
 * A new active account and its identity, with its `user.registered` event, in one batch. Throws
 * D1's unique-constraint error when the username is taken (the caller tries another) or when the
 * identity was linked meanwhile (a concurrent callback).
 */
export async function createFederatedAccount(db: Database, account: FederatedAccount, origin: EventOrigin) {
  const newUser = sql`(select id from users where username = ${account.username})`;
  const [[user]] = await db.batch([
    db
      .insert(users)
      .values({
        username: account.username,
        email: account.email,
        emailVerified: account.emailVerified,
        password: account.password,
        isActive: true,
        lastLogin: account.now,
      })
      .returning(loginColumns),
    db.insert(identities).select(
      sql`select null, ${newUser}, ${account.provider}, ${account.subject}, ${account.identityEmail ?? null},
          ${account.identityEmailVerified ? 1 : 0}, ${account.now.getTime()}, ${account.now.getTime()}`,
    ),
    insertEvent(
      db,
      origin,
      {
        kind: 'user.registered',
        actor: null,
        subject: { id: newUser, username: account.username },
        details: { provider: account.provider },
      },
      'always',
      account.now,
    ),
  ]);
  return user!;
}

/** When a linked account was last used to sign in. */
export const touchIdentity = (db: Database, id: number, at: Date) =>
  db.update(identities).set({ lastUsedAt: at }).where(eq(identities.id, id));

/** A user's linked accounts, oldest first. */
export const listIdentities = (db: Database, userId: number) =>
  db.select().from(identities).where(eq(identities.userId, userId)).orderBy(asc(identities.id)).limit(100);

/**
 * Unlinks one of a user's identities, in one statement, only while another way to log in remains:
 * a usable password (not Django's unusable `!...`), a passkey, or another identity. Answers whether
 * it was deleted; `exists` tells a refusal (the last way in) from an id that is not the user's.
 */
export async function unlinkIdentity(db: Database, userId: number, id: number, origin: EventOrigin) {
  const anotherWayIn = sql`(
    exists(select 1 from users as owner where owner.id = ${userId} and owner.password not like '!%')
    or exists(select 1 from passkeys as key where key.user_id = ${userId})
    or exists(select 1 from identities as other where other.user_id = ${userId} and other.id <> ${id}))`;
  const [deleted] = await db.batch([
    db
      .delete(identities)
      .where(and(eq(identities.id, id), eq(identities.userId, userId), anotherWayIn))
      .returning({ provider: identities.provider }),
    insertEvent(
      db,
      origin,
      { kind: 'identity.unlinked', actor: { id: userId }, subject: { id: userId }, details: { identity: id } },
      'ifChanged',
    ),
  ]);
  if (deleted.length > 0) return { deleted: true, exists: true };
  const [still] = await db
    .select({ id: identities.id })
    .from(identities)
    .where(and(eq(identities.id, id), eq(identities.userId, userId)));
  return { deleted: false, exists: still !== undefined };
}

/** Links an identity to a user who asked for it from their profile, with its event. */
export const linkIdentity = (
  db: Database,
  link: {
    userId: number;
    provider: string;
    subject: string;
    email: string | undefined;
    emailVerified: boolean;
    now: Date;
  },
  origin: EventOrigin,
) =>
  db.batch([
    db.insert(identities).values({
      userId: link.userId,
      provider: link.provider,
      subject: link.subject,
      email: link.email ?? null,
      emailVerified: link.emailVerified,
      createdAt: link.now,
      lastUsedAt: link.now,
    }),
    insertEvent(
      db,
      origin,
      {
        kind: 'identity.linked',
        actor: { id: link.userId },
        subject: { id: link.userId },
        details: { provider: link.provider },
      },
      'always',
      link.now,
    ),
  ]);

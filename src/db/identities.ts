/**
 * The statements of sign-in through other providers (src/routes/external.ts): the user an external
 * account is linked to, a new account made from one, and a user's linked accounts. An identity is
 * found by (provider, subject) only, never by email.
 */
import { and, asc, eq, sql } from 'drizzle-orm';
import { insertEvent, type EventOrigin } from './audit';
import type { Database } from './client';
import { identities, users } from './schema';

/** The user of a linked account, with what a login needs. */
export async function findIdentityUser(db: Database, provider: string, subject: string) {
  const [row] = await db
    .select({
      identityId: identities.id,
      user: {
        id: users.id,
        username: users.username,
        isActive: users.isActive,
        isStaff: users.isStaff,
        tokenVersion: users.tokenVersion,
        mfaEnabled: users.mfaEnabled,
      },
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
      .returning({
        id: users.id,
        username: users.username,
        isActive: users.isActive,
        isStaff: users.isStaff,
        tokenVersion: users.tokenVersion,
        mfaEnabled: users.mfaEnabled,
      }),
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

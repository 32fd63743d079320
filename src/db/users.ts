/**
 * Reads of user rows (by username for a login, by id for everything else), and the SQL pieces
 * that let another statement check a user in the same round trip (a token outlives its user's
 * state, so writes check their caller inside the write).
 */
import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { Database } from './client';
import { users } from './schema';

/** What a token check needs: does the user exist, is it active, and which token version is current. */
export const findTokenUser = (db: Database, id: number) =>
  db.query.users.findFirst({
    columns: { id: true, username: true, isActive: true, isStaff: true, tokenVersion: true },
    where: eq(users.id, id),
  });

/** With `mfaEnabled`: whether the login needs a second step. */
export const findLoginUser = (db: Database, username: string) =>
  db.query.users.findFirst({
    columns: {
      id: true,
      username: true,
      password: true,
      isActive: true,
      isStaff: true,
      tokenVersion: true,
      mfaEnabled: true,
    },
    where: eq(users.username, username),
  });

export const findPasswordAndEmail = (db: Database, id: number) =>
  db.query.users.findFirst({ columns: { password: true, email: true }, where: eq(users.id, id) });

/** Where a security notice goes: the address, if its owner verified it. */
export const findNoticeAddress = (db: Database, id: number) =>
  db.query.users.findFirst({
    columns: { username: true, email: true, emailVerified: true },
    where: eq(users.id, id),
  });

/** The caller's standing as D1 has it now (no row: the user is gone). */
export const findStanding = (db: Database, id: number) =>
  db.query.users.findFirst({ columns: { isActive: true, isStaff: true }, where: eq(users.id, id) });

// Plain SQL with an alias: inside a subquery, Drizzle's unqualified column names could mean the
// outer table's columns.
/** True in SQL while user `id` exists and is active. */
export const isActiveUser = (id: number): SQL<number> =>
  sql<number>`exists(select 1 from users as caller where caller.id = ${id} and caller.is_active = 1)`;

/** True in SQL while user `id` exists, is active and is staff. */
export const isActiveStaff = (id: number): SQL<number> =>
  sql<number>`exists(select 1 from users as caller where caller.id = ${id} and caller.is_active = 1 and caller.is_staff = 1)`;

/** True in SQL when user `id` exists (in any state): a filter's choice. */
export const userExists = (id: number): SQL<number> =>
  sql<number>`exists(select 1 from users as chosen where chosen.id = ${id})`;

/** SQL over the user row: may the viewer read its email, and its `is_active` / `is_staff`? */
export interface Visibility {
  email: SQL;
  accountState: SQL;
}

/**
 * The columns a user is shown with: the email and the account state only where `visible` says,
 * and the user's task ids as a JSON array, in the same query.
 */
export function userView(visible: Visibility) {
  return {
    id: users.id,
    username: users.username,
    email: sql<string | null>`case when ${visible.email} then users.email end`.as('visible_email'),
    emailVerified: sql<number | null>`case when ${visible.email} then users.email_verified end`.as(
      'visible_email_verified',
    ),
    pendingEmail: sql<string | null>`case when ${visible.email} then users.pending_email end`.as(
      'visible_pending_email',
    ),
    isActive: sql<number | null>`case when ${visible.accountState} then users.is_active end`.as('visible_is_active'),
    isStaff: sql<number | null>`case when ${visible.accountState} then users.is_staff end`.as('visible_is_staff'),
    taskIds:
      sql<string>`(select json_group_array(task_id) from (select t.id as task_id from tasks as t where t.person_id = users.id order by t.id))`.as(
        'task_ids',
      ),
  };
}

export type UserView = {
  id: number;
  username: string;
  email: string | null;
  emailVerified: number | null;
  pendingEmail: string | null;
  isActive: number | null;
  isStaff: number | null;
  taskIds: string;
};

export const selectUserView = (db: Database, id: number, visible: Visibility) =>
  db.select(userView(visible)).from(users).where(eq(users.id, id));

/** `email` matched as Django's `iexact` does, through the index on lower(email). */
export const emailIs = (email: string): SQL => sql`lower(${users.email}) = lower(${email})`;

/** A pending registration: never activated, its activation link still outstanding. */
const isPending = (): SQL => sql`(${users.isActive} = 0 and ${users.activationJti} is not null)`;

/**
 * A never-activated account whose activation link has expired (`activationLifetime` seconds
 * after it joined, for rows from before `activation_expires_at` existed): it holds nothing, and a
 * new registration of its username or email replaces it.
 */
export const isStaleRegistration = (now: Date, activationLifetime: number): SQL =>
  sql`(${isPending()} and coalesce(${users.activationExpiresAt}, ${users.dateJoined} + ${activationLifetime * 1000}) < ${now.getTime()})`;

/**
 * A fresh activation link for the newest pending registration of `email` or `username` (staff
 * decisions clear the link, so a deactivated account has none to renew): the new `jti` replaces
 * the old one, which stops working. One account at most, so one request sends one mail however
 * many registrations name an address. Answers the account to mail, if any.
 */
export const renewActivation = (
  db: Database,
  target: { email?: string; username?: string },
  jti: string,
  expiresAt: Date,
) =>
  db
    .update(users)
    .set({ activationJti: jti, activationExpiresAt: expiresAt })
    .where(
      eq(
        users.id,
        sql`(select max(${users.id}) from ${users} where ${isPending()} and ${
          target.email !== undefined ? emailIs(target.email) : eq(users.username, target.username ?? '')
        })`,
      ),
    )
    .returning({ id: users.id, username: users.username, email: users.email });

/**
 * The active accounts of `email` (emails are not unique) whose owner verified it and that have a
 * usable password (Django's `!...` marks one that is not) or sign in through another provider,
 * with what a reset link needs.
 */
export const findActiveByEmail = (db: Database, email: string) =>
  db.query.users.findMany({
    columns: { id: true, username: true, email: true, password: true },
    where: and(
      emailIs(email),
      eq(users.isActive, true),
      eq(users.emailVerified, true),
      // Django skips accounts without a usable password; one that signs in through another
      // provider (a linked identity) gets its first password this way.
      sql`(${users.password} not like '!%' or exists(select 1 from identities as linked where linked.user_id = ${users.id}))`,
    ),
  });

/** What confirming a password reset needs of the user a link names. */
export const findResetTarget = (db: Database, id: number) =>
  db.query.users.findFirst({
    columns: { id: true, username: true, email: true, password: true, isActive: true },
    where: eq(users.id, id),
  });

/** The password hash `from` (the one a login was checked against) replaced by `to`, unless it changed meanwhile. */
const rehashed = ({ from, to }: { from: string; to: string }) =>
  sql`case when ${users.password} = ${from} then ${to} else ${users.password} end`;

/** Records a login in Django's `last_login`; with `rehash`, also replaces the password hash (see rehashed). */
export const recordLogin = (db: Database, id: number, at: Date, rehash?: { from: string; to: string }) =>
  db
    .update(users)
    .set({ lastLogin: at, ...(rehash ? { password: rehashed(rehash) } : {}) })
    .where(eq(users.id, id));

/** A password hash at another iteration count replaced, without recording a login. */
export const rehashPassword = (db: Database, id: number, rehash: { from: string; to: string }) =>
  db
    .update(users)
    .set({ password: rehashed(rehash) })
    .where(eq(users.id, id));

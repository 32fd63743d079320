/**
 * Reads of user rows: by username for a login, by id for everything else, and the SQL that lets a
 * write or a read check its caller in the same statement (a token outlives its user's state).
 */
import { eq, sql, type SQL } from 'drizzle-orm';
import type { AuthUser } from '../env';
import type { Database } from './client';
import { users } from './schema';

/** What a token check needs: does the user exist, is it active, and which token version is current. */
export const findTokenUser = (db: Database, id: number) =>
  db.query.users.findFirst({
    columns: { id: true, username: true, isActive: true, isStaff: true, tokenVersion: true },
    where: eq(users.id, id),
  });

export const findLoginUser = (db: Database, username: string) =>
  db.query.users.findFirst({
    columns: { id: true, username: true, password: true, isActive: true, isStaff: true, tokenVersion: true },
    where: eq(users.username, username),
  });

export const findPasswordAndEmail = (db: Database, id: number) =>
  db.query.users.findFirst({ columns: { password: true, email: true }, where: eq(users.id, id) });

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

/**
 * The columns a user is shown with, for `viewer`: the email only to the user itself and to staff
 * (staff as D1 says now, not as the token said), its task ids as a JSON array, in the same query.
 */
export function userView(viewer: AuthUser | null) {
  const mayReadEmail = !viewer
    ? sql`0`
    : viewer.isStaff
      ? sql`users.id = ${viewer.id} or ${isActiveStaff(viewer.id)}`
      : sql`users.id = ${viewer.id}`;
  return {
    id: users.id,
    username: users.username,
    email: sql<string | null>`case when ${mayReadEmail} then users.email end`.as('visible_email'),
    taskIds:
      sql<string>`(select json_group_array(task_id) from (select t.id as task_id from tasks as t where t.person_id = users.id order by t.id))`.as(
        'task_ids',
      ),
  };
}

export type UserView = { id: number; username: string; email: string | null; taskIds: string };

export const selectUserView = (db: Database, id: number, viewer: AuthUser | null) =>
  db.select(userView(viewer)).from(users).where(eq(users.id, id));

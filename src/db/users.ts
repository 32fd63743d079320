/** Every read of a user row, in one place: by username for a login, by id for everything else. */
import { eq, sql, type SQL } from 'drizzle-orm';
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

/** True (1) in SQL when the user exists: lets a write check its caller in the same statement. */
export const userExists = (id: number): SQL<number> =>
  sql<number>`exists(select 1 from ${users} where ${users.id} = ${id})`;

/** The columns a user is shown with; its task ids come in the same query, as a JSON array. */
export const userView = {
  id: users.id,
  username: users.username,
  email: users.email,
  // Plain SQL: Drizzle leaves column names unqualified in a one-table select, which would make
  // `id` inside this correlated subquery mean the task's id.
  taskIds: sql<string>`(select json_group_array(task_id) from (select t.id as task_id from tasks as t where t.person_id = users.id order by t.id))`,
};

export type UserView = { id: number; username: string; email: string; taskIds: string };

export const selectUserView = (db: Database, id: number) => db.select(userView).from(users).where(eq(users.id, id));

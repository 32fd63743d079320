/**
 * The user resource: anyone lists and reads users (email only for the user itself and staff,
 * the password never); `/users/me/` reads and changes the caller. Registration stays at
 * /api-register/, so there is no public user creation here.
 */
import { count, eq, sql, type SQL } from 'drizzle-orm';
import { Hono, type Context } from 'hono';
import * as z from 'zod';
import { authenticate } from '../auth/middleware';
import { passwordProblems } from '../auth/password-rules';
import { hashPassword, UnsupportedPasswordHash, verifyPassword } from '../auth/passwords';
import { caller, requireUser } from '../auth/permissions';
import type { Settings } from '../config';
import { getDb, type Database } from '../db/client';
import { users } from '../db/schema';
import type { AppEnv, AuthUser } from '../env';
import { fieldErrors, notFound } from '../errors';
import { emailField, passwordField } from '../fields';
import { orderingQuery } from '../http/ordering';
import { paginate, paginationQuery } from '../http/pagination';
import type { Operation } from '../openapi/document';
import { validate, validBody } from '../validate';

const userListQuery = z.object({
  ...paginationQuery,
  ordering: orderingQuery({ id: users.id, username: users.username }, users.id),
});

const userPatchInput = z.object({
  email: emailField().optional(),
  password: passwordField().optional(),
  current_password: passwordField().optional(),
});

/** The columns a user is shown with; its task ids come in the same query, as a JSON array. */
const userView = {
  id: users.id,
  username: users.username,
  email: users.email,
  // Plain SQL: Drizzle leaves column names unqualified in a one-table select, which would make
  // `id` inside this correlated subquery mean the task's id.
  taskIds: sql<string>`(select json_group_array(task_id) from (select t.id as task_id from tasks as t where t.person_id = users.id order by t.id))`,
};

type UserView = { id: number; username: string; email: string; taskIds: string };

function serializeUser(user: UserView, viewer: AuthUser | null, settings: Settings) {
  const mayReadEmail = viewer !== null && (viewer.isStaff || viewer.id === user.id);
  return {
    id: user.id,
    url: `${settings.siteUrl}/users/${user.id}/`,
    username: user.username,
    ...(mayReadEmail ? { email: user.email } : {}),
    tasks: JSON.parse(user.taskIds) as number[],
  };
}

const selectUser = (db: Database, id: number) => db.select(userView).from(users).where(eq(users.id, id));

async function showUser(c: Context<AppEnv>, id: number) {
  const [user] = await selectUser(getDb(c.env.DB), id);
  if (!user) throw notFound();
  return c.json(serializeUser(user, c.var.user, c.var.settings));
}

export const usersRoutes = new Hono<AppEnv>();
usersRoutes.use(authenticate);

usersRoutes.get('/', async (c) => {
  const { limit, offset, ordering } = validate(userListQuery, c.req.query());
  const db = getDb(c.env.DB);
  const [[total], rows] = await db.batch([
    db.select({ count: count() }).from(users),
    db
      .select(userView)
      .from(users)
      .orderBy(...ordering)
      .limit(limit)
      .offset(offset),
  ]);
  const settings = c.var.settings;
  const results = rows.map((user) => serializeUser(user, c.var.user, settings));
  return c.json(
    paginate(
      results,
      { count: total!.count, limit, offset },
      { siteUrl: settings.siteUrl, path: '/users/', requestUrl: c.req.url },
    ),
  );
});

usersRoutes.get('/me', requireUser, (c) => showUser(c, caller(c).id));

/** PATCH email and/or password; a new password needs the current one. */
usersRoutes.patch('/me', requireUser, async (c) => {
  const user = caller(c);
  const input = await validBody(c, userPatchInput);
  const db = getDb(c.env.DB);
  const changes: { email?: string; password?: string; tokenVersion?: SQL } = { email: input.email };
  if (input.password !== undefined) {
    if (input.current_password === undefined) throw fieldErrors({ current_password: ['This field is required.'] });
    const [stored] = await db
      .select({ password: users.password, email: users.email })
      .from(users)
      .where(eq(users.id, user.id));
    if (!stored) throw notFound();
    // A hash this runtime cannot check (UnsupportedPasswordHash) counts as a wrong password here.
    const matches = await verifyPassword(input.current_password, stored.password).catch((error: unknown) => {
      if (error instanceof UnsupportedPasswordHash) return false;
      throw error;
    });
    if (!matches) {
      throw fieldErrors({ current_password: ['Your old password was entered incorrectly. Please enter it again.'] });
    }
    const problems = passwordProblems(input.password, { username: user.username, email: input.email ?? stored.email });
    if (problems.length > 0) throw fieldErrors({ password: problems });
    changes.password = await hashPassword(input.password);
    // A new password ends every refresh chain, as logout does.
    changes.tokenVersion = sql`${users.tokenVersion} + 1`;
  }
  if (changes.email === undefined && changes.password === undefined) return showUser(c, user.id);
  const [, [updated]] = await db.batch([
    db.update(users).set(changes).where(eq(users.id, user.id)),
    selectUser(db, user.id),
  ]);
  if (!updated) throw notFound();
  return c.json(serializeUser(updated, user, c.var.settings));
});

usersRoutes.get('/:id{[0-9]+}', (c) => {
  const id = Number(c.req.param('id'));
  if (!Number.isSafeInteger(id)) throw notFound();
  return showUser(c, id);
});

export const userOperations: Operation[] = [
  {
    method: 'get',
    path: '/users/',
    tag: 'users',
    summary: 'List users',
    auth: 'optional',
    query: userListQuery,
    responses: { 200: 'UserPage', 400: 'FieldErrors', 401: 'Detail' },
  },
  {
    method: 'get',
    path: '/users/{id}/',
    tag: 'users',
    summary: 'Read a user',
    auth: 'optional',
    responses: { 200: 'User', 401: 'Detail', 404: 'Detail' },
  },
  {
    method: 'get',
    path: '/users/me/',
    tag: 'users',
    summary: 'Read the caller',
    auth: 'required',
    responses: { 200: 'User', 401: 'Detail' },
  },
  {
    method: 'patch',
    path: '/users/me/',
    tag: 'users',
    summary: "Change the caller's email or password",
    description: 'A new `password` needs `current_password`.',
    auth: 'required',
    body: userPatchInput,
    responses: { 200: 'User', 400: 'FieldErrors', 401: 'Detail' },
  },
];

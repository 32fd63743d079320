/**
 * The user resource: anyone lists and reads users (email only for the user itself and staff,
 * the password never); `/users/me/` reads and changes the caller. Registration stays at
 * /api-register/, so there is no public user creation here.
 */
import { and, count, eq, sql, type SQL } from 'drizzle-orm';
import type { Context } from 'hono';
import * as z from 'zod';
import { passwordProblems } from '../auth/password-rules';
import { hashPassword, UnsupportedPasswordHash, verifyPassword } from '../auth/passwords';
import type { Settings } from '../config';
import { getDb } from '../db/client';
import { users } from '../db/schema';
import { findPasswordAndEmail, findStanding, selectUserView, userView, type UserView } from '../db/users';
import { fieldErrors, notFound, userNotFound } from '../drf/errors';
import { inactiveCallerError, mayReadEmailCondition } from '../auth/permissions';
import { emailField, passwordField } from '../drf/fields';
import { orderingQuery } from '../drf/ordering';
import { paginationQuery } from '../drf/pagination';
import type { AppEnv, AuthUser } from '../env';
import { defineRoute } from '../http/route';
import { fetchPage, pageResponse } from './list-page';

const userListQuery = z.object({
  ...paginationQuery,
  ordering: orderingQuery({ id: users.id, username: users.username }, users.id),
});

const userPatchInput = z.object({
  email: emailField().optional(),
  password: passwordField().optional(),
  current_password: passwordField().optional(),
});

const WRONG_CURRENT_PASSWORD = 'Your old password was entered incorrectly. Please enter it again.';

/** The email is in the row only when the viewer may read it (see userView). */
function serializeUser(user: UserView, settings: Settings) {
  return {
    id: user.id,
    url: `${settings.siteUrl}/users/${user.id}/`,
    username: user.username,
    ...(user.email === null ? {} : { email: user.email }),
    tasks: JSON.parse(user.taskIds) as number[],
  };
}

/** The user, or `missing` when there is none (404 for a path id, 401 for the caller's own token). */
async function showUser(c: Context<AppEnv>, id: number, viewer: AuthUser | null, missing: () => Error) {
  const [user] = await selectUserView(getDb(c.env.DB), id, mayReadEmailCondition(viewer));
  if (!user) throw missing();
  return c.json(serializeUser(user, c.var.settings));
}

/**
 * The hash of a new password, after checking the current one. The update that stores it must
 * match `verifiedHash`, so that two concurrent changes cannot both win.
 */
async function newPasswordHash(
  c: Context<AppEnv>,
  user: AuthUser,
  input: z.output<typeof userPatchInput> & { password: string },
) {
  if (input.current_password === undefined) throw fieldErrors({ current_password: ['This field is required.'] });
  const stored = await findPasswordAndEmail(getDb(c.env.DB), user.id);
  if (!stored) throw userNotFound();
  // A hash this runtime cannot check (UnsupportedPasswordHash) counts as a wrong password here.
  const matches = await verifyPassword(input.current_password, stored.password).catch((error: unknown) => {
    if (error instanceof UnsupportedPasswordHash) return false;
    throw error;
  });
  if (!matches) throw fieldErrors({ current_password: [WRONG_CURRENT_PASSWORD] });
  const problems = passwordProblems(input.password, { username: user.username, email: input.email ?? stored.email });
  if (problems.length > 0) throw fieldErrors({ password: problems });
  return { verifiedHash: stored.password, hash: await hashPassword(input.password) };
}

export const userRoutes = [
  defineRoute({
    method: 'get',
    path: '/users/',
    tag: 'users',
    summary: 'List users',
    auth: 'optional',
    query: userListQuery,
    responses: { 200: 'UserPage' },
    handler: async (c, { user: viewer, query: { limit, offset, ordering } }) => {
      const db = getDb(c.env.DB);
      const { total, rows } = await fetchPage(
        db,
        db.select({ count: count() }).from(users),
        db
          .select(userView(mayReadEmailCondition(viewer)))
          .from(users)
          .orderBy(...ordering)
          .limit(limit)
          .offset(offset),
      );
      const results = rows.map((user) => serializeUser(user, c.var.settings));
      return pageResponse(c, { path: '/users/', limit, offset }, total.count, results);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/users/me/',
    tag: 'users',
    summary: 'Read the caller',
    auth: 'required',
    responses: { 200: 'User' },
    handler: (c, { user }) => showUser(c, user.id, user, userNotFound),
  }),
  defineRoute({
    method: 'patch',
    path: '/users/me/',
    tag: 'users',
    summary: "Change the caller's email or password",
    description: 'A new `password` needs `current_password`; it ends every refresh chain, as logout does.',
    auth: 'required',
    body: userPatchInput,
    responses: { 200: 'User' },
    handler: async (c, { user, body }) => {
      const input = await body();
      const changes: { email?: string; password?: string; tokenVersion?: SQL } = { email: input.email };
      let guard: SQL | undefined;
      if (input.password !== undefined) {
        const { verifiedHash, hash } = await newPasswordHash(c, user, { ...input, password: input.password });
        changes.password = hash;
        changes.tokenVersion = sql`${users.tokenVersion} + 1`;
        guard = eq(users.password, verifiedHash);
      }
      if (changes.email === undefined && changes.password === undefined) {
        return showUser(c, user.id, user, userNotFound);
      }
      const db = getDb(c.env.DB);
      const [[changed], [updated]] = await db.batch([
        db
          .update(users)
          .set(changes)
          .where(and(eq(users.id, user.id), eq(users.isActive, true), guard))
          .returning({ id: users.id }),
        selectUserView(db, user.id, mayReadEmailCondition(user)),
      ]);
      if (!updated) throw userNotFound();
      if (!changed) {
        // Read only on this error path: the account was deactivated, or the password changed
        // between our check and our write (the verified one is no longer current).
        const refused = inactiveCallerError(await findStanding(db, user.id));
        if (refused) throw refused;
        throw fieldErrors({ current_password: [WRONG_CURRENT_PASSWORD] });
      }
      return c.json(serializeUser(updated, c.var.settings));
    },
  }),
  defineRoute({
    method: 'get',
    path: '/users/{id}/',
    tag: 'users',
    summary: 'Read a user',
    auth: 'optional',
    responses: { 200: 'User' },
    handler: (c, { user, id }) => showUser(c, id(), user, notFound),
  }),
];

/**
 * The user resource: anyone lists and reads users (email only for the user itself and staff,
 * the account state only for staff, the password never); `/users/me/` reads and changes the
 * caller; staff activate, deactivate, promote, demote and delete users. Registration stays at
 * /api-register/, so there is no public user creation here.
 */
import { and, eq, ne, sql, type SQL } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import type { Context } from 'hono';
import * as z from 'zod';
import { auditStatement } from '../audit/record';
import { issueEmailChangeToken } from '../auth/tokens';
import { passwordProblems } from '../auth/password-rules';
import { hashPassword, UnsupportedPasswordHash, verifyPassword } from '../auth/passwords';
import type { Settings } from '../config';
import { users } from '../db/schema';
import { findPasswordAndEmail, findStanding, selectUserView, userExists, userView, type UserView } from '../db/users';
import { detail, fieldErrors, notFound, permissionDenied, userNotFound, type ApiError } from '../drf/errors';
import { inactiveCallerError, isStaffNow, staffNowCondition, visibleTo } from '../auth/permissions';
import { requireRecentLogin } from '../auth/recent-login';
import { booleanField, emailField, passwordField } from '../drf/fields';
import type { AuditEntry } from '../db/audit';
import { countUsers } from '../db/counts';
import { cursorPage, cursorQuery, cursorRows, decodeCursor } from '../drf/cursor-pagination';
import { orderingQuery } from '../drf/ordering';
import { paginationQuery } from '../drf/pagination';
import type { AppEnv, AuthUser } from '../env';
import { defineRoute } from '../http/route';
import { sendAfterResponse } from '../mail/mailer';
import { emailChangeMail } from '../mail/messages';
import { noticeAfterResponse } from '../mail/notices';
import { fetchPage, pageResponse } from './list-page';

const userListQuery = z.object({
  ...paginationQuery,
  ordering: orderingQuery({ id: users.id, username: users.username }, 'id'),
  cursor: cursorQuery,
});

const userPatchInput = z.object({
  email: emailField().optional(),
  password: passwordField().optional(),
  current_password: passwordField().optional(),
});

/** What PATCH /users/me/ writes: values, or SQL over the row as it was. */
type UserChanges = {
  email?: string;
  password?: string;
  tokenVersion?: SQL;
  emailVerified?: SQL;
  pendingEmail?: SQL;
  emailChangeJti?: SQL;
};

const staffPatchInput = z.object({ is_active: booleanField().optional(), is_staff: booleanField().optional() });

/**
 * Why a staff write on user `id` is refused, read on the error path only: 401 for a caller who is
 * gone or deactivated, 403 for one who is not staff now, 404 for no such user.
 */
export async function staffRefusal(c: Context<AppEnv>, caller: AuthUser, id: number): Promise<ApiError | undefined> {
  const db = c.get('db');
  const [standing, target] = await Promise.all([findStanding(db, caller.id), findStanding(db, id)]);
  const inactive = inactiveCallerError(standing);
  if (inactive || !standing) return inactive;
  if (!isStaffNow(caller, standing)) return permissionDenied();
  return target ? undefined : notFound();
}

const WRONG_CURRENT_PASSWORD = 'Your old password was entered incorrectly. Please enter it again.';

/** The email and the account state are in the row only when the viewer may read them (see userView). */
function serializeUser(user: UserView, settings: Settings) {
  return {
    id: user.id,
    url: `${settings.siteUrl}/users/${user.id}/`,
    username: user.username,
    ...(user.email === null
      ? {}
      : {
          email: user.email,
          email_verified: Boolean(user.emailVerified),
          ...(user.pendingEmail === null ? {} : { pending_email: user.pendingEmail }),
        }),
    ...(user.isActive === null ? {} : { is_active: Boolean(user.isActive), is_staff: Boolean(user.isStaff) }),
    tasks: JSON.parse(user.taskIds) as number[],
  };
}

/** The user, or `missing` when there is none (404 for a path id, 401 for the caller's own token). */
async function showUser(c: Context<AppEnv>, id: number, viewer: AuthUser | null, missing: () => Error) {
  const [user] = await selectUserView(c.get('db'), id, visibleTo(viewer));
  if (!user) throw missing();
  return c.json(serializeUser(user, c.get('settings')));
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
  const stored = await findPasswordAndEmail(c.get('db'), user.id);
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
    responses: { 200: 'UserPage', 404: 'Detail' },
    handler: async (c, { user: viewer, query: { limit, offset, ordering, cursor } }) => {
      const db = c.get('db');
      if (cursor !== undefined) {
        const position = await decodeCursor(c.get('settings'), ordering, cursor);
        const rows = await cursorRows(
          (after) =>
            db
              .select(userView(visibleTo(viewer)))
              .from(users)
              .where(after)
              .$dynamic(),
          ordering,
          position,
          limit,
        );
        return cursorPage(
          c,
          { path: '/users/', ordering, limit, position },
          rows,
          (user) => ordering.keys.map(({ name }) => (name === 'username' ? user.username : user.id)),
          (user) => serializeUser(user, c.get('settings')),
        );
      }
      const { total, rows } = await fetchPage(
        db,
        countUsers(db),
        db
          .select(userView(visibleTo(viewer)))
          .from(users)
          .orderBy(...ordering.terms)
          .limit(limit)
          .offset(offset),
      );
      const results = rows.map((user) => serializeUser(user, c.get('settings')));
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
    description:
      'A new `password` needs `current_password`; it ends every refresh chain, as logout does. With ACTIVATION_DELIVERY=email, a new `email` is only `pending_email` until the link mailed there is confirmed (POST /auth/email/confirm/); the old address gets a notice. Otherwise it changes at once, unverified. Either change needs a recent login (403 `reauth_required`).',
    auth: 'required',
    body: userPatchInput,
    responses: { 200: 'User', 403: 'Detail' },
    handler: async (c, { user, body }) => {
      const settings = c.get('settings');
      const db = c.get('db');
      const input = await body();
      if (input.email === undefined && input.password === undefined) return showUser(c, user.id, user, userNotFound);
      requireRecentLogin(user, settings);
      const changes: UserChanges = {};
      let guard: SQL | undefined;
      if (input.password !== undefined) {
        const { verifiedHash, hash } = await newPasswordHash(c, user, { ...input, password: input.password });
        changes.password = hash;
        changes.tokenVersion = sql`${users.tokenVersion} + 1`;
        guard = eq(users.password, verifiedHash);
      }
      const writable = and(eq(users.id, user.id), eq(users.isActive, true), guard);
      const address = input.email;
      const emailChangeJti =
        address !== undefined && settings.activationDelivery === 'email' ? crypto.randomUUID() : undefined;
      let emailEvent: AuditEntry | undefined;
      if (address !== undefined) {
        // The profile form sends the address with every save: the one the account has is no
        // change (it would otherwise lose its verification, or mail a link to itself). SET reads
        // the row as it was.
        const ifNew = (value: unknown, column: SQLiteColumn) =>
          sql`case when ${users.email} <> ${address} then ${value} else ${column} end`;
        if (emailChangeJti !== undefined) {
          // A newer request replaces the jti: only the latest link works.
          changes.pendingEmail = ifNew(address, users.pendingEmail);
          changes.emailChangeJti = ifNew(emailChangeJti, users.emailChangeJti);
          emailEvent = { kind: 'email.change_requested', actor: user, subject: user, details: { email: address } };
        } else {
          // The tutorial's way: at once, and not verified (nobody proved the address).
          changes.email = address;
          changes.emailVerified = ifNew(0, users.emailVerified);
          changes.pendingEmail = ifNew(null, users.pendingEmail);
          changes.emailChangeJti = ifNew(null, users.emailChangeJti);
          emailEvent = { kind: 'email.changed', actor: user, subject: user, details: { email: address } };
        }
      }
      // The email's event goes before the update, under the update's condition and only for a new
      // address; the password's follows it, written if the update changed the row.
      const update = db
        .update(users)
        .set(changes)
        .where(writable)
        .returning({ id: users.id, emailChangeJti: users.emailChangeJti });
      const statements: BatchItem<'sqlite'>[] = [
        ...(emailEvent
          ? [
              auditStatement(
                c,
                emailEvent,
                sql`exists(select 1 from ${users} where ${and(writable, ne(users.email, address!))})`,
              ),
            ]
          : []),
        update,
        ...(input.password === undefined
          ? []
          : [auditStatement(c, { kind: 'password.changed', actor: user, subject: user }, 'ifChanged')]),
        selectUserView(db, user.id, visibleTo(user)),
      ];
      const results = await db.batch(statements as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
      const [written] = results[emailEvent ? 1 : 0] as Awaited<typeof update>;
      const [updated] = results[results.length - 1] as Awaited<ReturnType<typeof selectUserView>>;
      if (!updated) throw userNotFound();
      if (!written) {
        // Read only on this error path: the account was deactivated, or the password changed
        // between our check and our write (the verified one is no longer current).
        const refused = inactiveCallerError(await findStanding(db, user.id));
        if (refused) throw refused;
        throw fieldErrors({ current_password: [WRONG_CURRENT_PASSWORD] });
      }
      if (input.password !== undefined) await noticeAfterResponse(c, user.id, 'password.changed');
      // The jti is ours only when the address was a new one.
      if (address !== undefined && emailChangeJti !== undefined && written.emailChangeJti === emailChangeJti) {
        const token = await issueEmailChangeToken(user.id, address, emailChangeJti, settings);
        const link = `${settings.siteUrl}/app/email/confirm/${token}`;
        await sendAfterResponse(c, emailChangeMail(address, user.username, link, settings.activationExpirationDelta));
        await noticeAfterResponse(c, user.id, 'email.change_requested', address);
      }
      return c.json(serializeUser(updated, c.get('settings')));
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
  defineRoute({
    method: 'patch',
    path: '/users/{id}/',
    tag: 'users',
    summary: 'Activate, deactivate, promote or demote a user (staff)',
    description:
      "Body `is_active` and/or `is_staff`. Deactivating or demoting ends the user's refresh chains at once. " +
      'Staff cannot deactivate or demote themselves.',
    auth: 'required',
    body: staffPatchInput,
    responses: { 200: 'User', 403: 'Detail' },
    handler: async (c, { user, id: pathId, body }) => {
      const id = pathId();
      const input = await body().catch(async (error: unknown) => {
        throw (await staffRefusal(c, user, id)) ?? error;
      });
      if (id === user.id && (input.is_active === false || input.is_staff === false)) {
        // Only staff learn that rule; anyone else is refused as usual.
        throw (
          (await staffRefusal(c, user, id)) ??
          fieldErrors({
            [input.is_active === false ? 'is_active' : 'is_staff']: ['Staff cannot deactivate or demote themselves.'],
          })
        );
      }
      const changes: {
        isActive?: boolean;
        isStaff?: boolean;
        tokenVersion?: SQL;
        activationJti?: null;
        activationExpiresAt?: null;
      } = { isActive: input.is_active, isStaff: input.is_staff };
      if (input.is_active !== undefined) {
        // Staff decide now: no activation link, old or resent, may change that, and the account
        // is no longer a pending registration that a new one could replace.
        changes.activationJti = null;
        changes.activationExpiresAt = null;
      }
      // Losing access (SET reads the old values) ends every refresh chain of that user, as logout does.
      const loses = (column: SQLiteColumn, value: boolean | undefined) =>
        value === false ? sql`${column} = 1` : sql`0`;
      changes.tokenVersion = sql`${users.tokenVersion} + (${loses(users.isActive, input.is_active)} or ${loses(users.isStaff, input.is_staff)})`;
      const db = c.get('db');
      const hasChanges = changes.isActive !== undefined || changes.isStaff !== undefined;
      const [[changed], , [shown]] = await db.batch([
        hasChanges
          ? db
              .update(users)
              .set(changes)
              .where(and(eq(users.id, id), staffNowCondition(user)))
              .returning({ id: users.id })
          : db
              .select({ id: users.id })
              .from(users)
              .where(and(eq(users.id, id), staffNowCondition(user))),
        auditStatement(
          c,
          { kind: 'staff.user_changed', actor: user, subject: { id }, details: { ...input } },
          // changes() means something only after a write.
          hasChanges ? 'ifChanged' : sql`0`,
        ),
        selectUserView(db, id, visibleTo(user)),
      ]);
      if (!changed || !shown) throw (await staffRefusal(c, user, id)) ?? notFound();
      return c.json(serializeUser(shown, c.get('settings')));
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/users/{id}/',
    tag: 'users',
    summary: 'Delete a user and their tasks (staff)',
    description: 'Staff cannot delete themselves.',
    auth: 'required',
    responses: { 204: null, 403: 'Detail' },
    handler: async (c, { user, id: pathId }) => {
      const id = pathId();
      if (id === user.id)
        throw (await staffRefusal(c, user, id)) ?? detail(403, 'Staff cannot delete their own account.');
      const db = c.get('db');
      const [, [deleted]] = await db.batch([
        // Before the deletion, while the username can be read; under the deletion's own condition.
        auditStatement(
          c,
          { kind: 'staff.user_deleted', actor: user, subject: { id } },
          and(userExists(id), staffNowCondition(user)),
        ),
        db
          .delete(users)
          .where(and(eq(users.id, id), staffNowCondition(user)))
          .returning({ id: users.id }),
      ]);
      if (!deleted) throw (await staffRefusal(c, user, id)) ?? notFound();
      return c.body(null, 204);
    },
  }),
];

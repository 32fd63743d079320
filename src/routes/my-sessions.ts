/**
 * A user's own browser sessions: where they are logged in, and ending one or all the others.
 * Ending another device's session needs a recent login (a stolen token must not lock the owner
 * out); ending this one is a logout. An ended session cannot refresh; its access tokens live out
 * their JWT_EXPIRATION_DELTA, as after a logout. A deleted or deactivated user's token gets 401.
 */
import { auditStatement } from '../audit/record';
import { requireRecentLogin } from '../auth/recent-login';
import { endOtherSessions, endUserSession, listSessions } from '../db/sessions';
import { notFound } from '../drf/errors';
import { defineRoute } from '../http/route';
import { activeAccount } from './account';

const PATH = '/auth/sessions/';

export const mySessionRoutes = [
  defineRoute({
    method: 'get',
    path: PATH,
    tag: 'sessions',
    summary: "The caller's browser sessions",
    auth: 'required',
    responses: { 200: 'SessionList' },
    handler: async (c, { user }) => {
      const rows = await listSessions(c.get('db'), await activeAccount(c, user), new Date());
      return c.json(
        rows.map((row) => ({
          id: row.family,
          created: row.loginAt.toISOString(),
          last_used: (row.issuedAt ?? row.loginAt).toISOString(),
          user_agent: row.userAgent,
          current: row.family === user.sessionId,
        })),
      );
    },
  }),
  defineRoute({
    method: 'delete',
    path: `${PATH}{session}/`,
    tag: 'sessions',
    summary: "End one of the caller's sessions",
    description:
      'Another session than the one of this token needs a recent login (403 `reauth_required`). 404 for an id that is not a session of the caller.',
    auth: 'required',
    responses: { 204: null, 403: 'Detail' },
    handler: async (c, { user, param }) => {
      await activeAccount(c, user);
      const family = param('session');
      if (family !== user.sessionId) requireRecentLogin(user, c.get('settings'));
      const db = c.get('db');
      const [ended] = await db.batch([
        endUserSession(db, user.id, family),
        auditStatement(
          c,
          { kind: 'session.ended', actor: user, subject: user, details: { session: family } },
          'ifChanged',
        ),
      ]);
      if (ended.length === 0) throw notFound();
      return c.body(null, 204);
    },
  }),
  defineRoute({
    method: 'delete',
    path: PATH,
    tag: 'sessions',
    summary: 'End every session of the caller but this one',
    description:
      'Needs a recent login (403 `reauth_required`). With a token from no session (obtain), every session ends.',
    auth: 'required',
    responses: { 204: null, 403: 'Detail' },
    handler: async (c, { user }) => {
      await activeAccount(c, user);
      requireRecentLogin(user, c.get('settings'));
      const db = c.get('db');
      await db.batch([
        endOtherSessions(db, user.id, user.sessionId),
        auditStatement(c, { kind: 'session.others_ended', actor: user, subject: user }, 'ifChanged'),
      ]);
      return c.body(null, 204);
    },
  }),
];

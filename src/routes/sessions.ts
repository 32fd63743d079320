/**
 * Browser sessions, beside the tutorial's bearer flow: the login sets an HttpOnly refresh cookie,
 * a refresh rotates it (a rotated cookie presented again ends the session: RFC 9700 §4.14), and
 * DELETE ends it. Logout, a password change or reset and deactivation raise the user's token
 * version, which ends every session too (sessions.token_version, src/db/sessions.ts). Access
 * tokens of a session carry its id (`sid`) and refresh only through it.
 */
import { sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { auditStatement, eventOrigin } from '../audit/record';
import { hashSecret, newSecret } from '../auth/random-secrets';
import { issueAccessToken, parseAmr, type AuthMethod, type TokenUser } from '../auth/tokens';
import { endSession, ownerOf, rotateSession, startSession } from '../db/sessions';
import { detail, noSession } from '../drf/errors';
import type { AppEnv } from '../env';
import { defineRoute, type RouteInput } from '../http/route';
import { clearedSessionCookie, readSessionCookie, sessionCookie } from '../http/session-cookie';
import { checkOrigin } from '../http/trusted-origin';
import { shortUserAgent } from '../http/user-agent';
import { noticeAfterResponse } from '../mail/notices';
import { credentialsBody, logIn, mfaRequired } from './credentials';

const PATH = '/auth/session/';

const SET_COOKIE = { 'Set-Cookie': 'The session cookie (see the sessionCookie security scheme).' };

async function start(c: Context<AppEnv>, input: RouteInput<'none', undefined, typeof credentialsBody>) {
  checkOrigin(c, { required: false });
  const user = await logIn(c, await input.body());
  if (user.mfaEnabled) return mfaRequired(c, user, true);
  return startBrowserSession(c, user, { amr: ['pwd'], now: new Date() });
}

/**
 * The answer to a browser's completed login: an access token and the session's cookie (only the
 * token without JWT_ALLOW_REFRESH). Also the end of a session login's second step.
 */
export async function startBrowserSession(
  c: Context<AppEnv>,
  user: TokenUser,
  { amr, now }: { amr: readonly AuthMethod[]; now: Date },
) {
  const settings = c.get('settings');
  const authentication = { amr, authTime: Math.floor(now.getTime() / 1000) };
  // Without refresh there is no session to keep: the login answers a token, as obtain does.
  if (!settings.jwtAllowRefresh)
    return c.json({ token: await issueAccessToken(user, settings, { now, authentication }) });
  return c.json({ token: await openBrowserSession(c, user, { amr, now }) });
}

/**
 * Stores a new session and sets its cookie on the answer; returns its first access token. A
 * session cookie the browser sent along ends its session (the new one takes its place).
 */
export async function openBrowserSession(
  c: Context<AppEnv>,
  user: TokenUser,
  { amr, now }: { amr: readonly AuthMethod[]; now: Date },
): Promise<string> {
  const settings = c.get('settings');
  const authentication = { amr, authTime: Math.floor(now.getTime() / 1000) };
  const family = crypto.randomUUID();
  const secret = newSecret();
  const expiresAt = new Date(now.getTime() + settings.jwtRefreshExpirationDelta * 1000);
  const token = await issueAccessToken(user, settings, { now, sessionId: family, authentication });
  const previous = readSessionCookie(c);
  await startSession(
    c.get('db'),
    {
      family,
      userId: user.id,
      secretHash: await hashSecret(secret),
      tokenVersion: user.tokenVersion,
      loginAt: now,
      expiresAt,
      amr: amr.join(' '),
      authTime: now,
      userAgent: shortUserAgent(c.req.header('User-Agent')),
    },
    previous === undefined ? undefined : await hashSecret(previous),
  );
  c.header('Set-Cookie', sessionCookie(secret, expiresAt.getTime(), now), { append: true });
  return token;
}

async function refresh(c: Context<AppEnv>) {
  const settings = c.get('settings');
  if (!settings.jwtAllowRefresh) throw detail(403, 'Token refresh is disabled.');
  const presented = readSessionCookie(c);
  if (presented === undefined) throw noSession('Authentication credentials were not provided.', clearedSessionCookie());
  const now = new Date();
  const successor = newSecret();
  const { session: refreshed, reuseOf } = await rotateSession(
    c.get('db'),
    {
      presentedHash: await hashSecret(presented),
      nextHash: await hashSecret(successor),
      now,
      graceSeconds: settings.sessionRotationGrace,
    },
    eventOrigin(c),
  );
  if (reuseOf !== undefined) await noticeAfterResponse(c, reuseOf, 'session.reuse_detected');
  if (!refreshed) throw noSession('Session has expired or has been ended.', clearedSessionCookie());
  const user = {
    id: refreshed.userId,
    username: refreshed.username,
    isStaff: refreshed.isStaff,
    tokenVersion: refreshed.tokenVersion,
  };
  const token = await issueAccessToken(user, settings, {
    origIat: Math.floor(refreshed.loginAt / 1000),
    sessionId: refreshed.family,
    authentication: { amr: parseAmr(refreshed.amr), authTime: Math.floor(refreshed.authTime / 1000) },
    now,
  });
  // In the grace, the browser already holds the successor (the other tab's answer set it).
  if (refreshed.rotated) c.header('Set-Cookie', sessionCookie(successor, refreshed.expiresAt, now));
  return c.json({ token });
}

async function end(c: Context<AppEnv>) {
  // The cookie's path is /auth/session/: a browser sends nothing to /auth/session, so a 204 there
  // would end nothing. Send the request where the cookie goes (308 keeps the method).
  // (c.req.path drops the trailing slash: the app answers with and without it.)
  if (!new URL(c.req.url).pathname.endsWith('/')) return c.redirect(PATH, 308);
  const presented = readSessionCookie(c);
  if (presented !== undefined) {
    const db = c.get('db');
    const hash = await hashSecret(presented);
    const owner = { id: ownerOf(hash) };
    await db.batch([
      // Before the deletion, which takes the cookie that names the user.
      auditStatement(
        c,
        { kind: 'logout', actor: owner, subject: owner, details: { everywhere: false } },
        sql`${owner.id} is not null`,
      ),
      endSession(db, hash),
    ]);
  }
  c.header('Set-Cookie', clearedSessionCookie());
  return c.body(null, 204);
}

export const sessionRoutes = [
  defineRoute({
    method: 'post',
    path: PATH,
    tag: 'sessions',
    summary: 'Log in a browser: an access token, and an HttpOnly refresh cookie',
    description:
      'The same checks, errors and rate limits as /auth/obtain_token/. The cookie lasts JWT_REFRESH_EXPIRATION_DELTA from this login; a session cookie sent with the login ends its session. A request from a page of an origin other than SITE_URL or CORS_ALLOWED_ORIGINS is refused (login CSRF). With JWT_ALLOW_REFRESH false, no cookie is set.',
    auth: 'none',
    rateLimit: 'obtain',
    body: credentialsBody,
    responses: { 200: 'LoginResult', 403: 'Detail' },
    headers: { 200: SET_COOKIE },
    handler: start,
  }),
  defineRoute({
    method: 'post',
    path: `${PATH}refresh/`,
    tag: 'sessions',
    summary: 'A new access token for the session cookie, which is rotated',
    description:
      'No body. A cookie that was already rotated ends the whole session (401), except within SESSION_ROTATION_GRACE of its rotation while its successor is current (two tabs refreshing at once): then 200 without a new cookie. 403 when JWT_ALLOW_REFRESH is false. Not rate limited per IP: every tab of every user behind one address refreshes, and guessing a 256-bit secret is hopeless.',
    auth: 'session',
    responses: { 200: 'Token', 401: 'Detail' },
    headers: { 200: SET_COOKIE, 401: SET_COOKIE },
    handler: refresh,
  }),
  defineRoute({
    method: 'delete',
    path: PATH,
    tag: 'sessions',
    summary: 'End the session of the cookie and clear it',
    description: 'Needs the trailing slash, where the cookie is sent: without it, 308 to /auth/session/.',
    auth: 'session',
    responses: { 204: null },
    headers: { 204: SET_COOKIE },
    handler: end,
  }),
];

/**
 * The tutorial's token routes: obtain, refresh and verify (djangorestframework-jwt's views, which
 * read the token from the body, not the Authorization header), and logout.
 */
import { eq, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { auditStatement } from '../audit/record';
import { issueAccessToken, refreshHasExpired, TokenError, verifyAccessToken, type AccessClaims } from '../auth/tokens';
import type { Settings } from '../config';
import type { Database } from '../db/client';
import { users } from '../db/schema';
import { findTokenUser } from '../db/users';
import { detail, nonFieldError, userNotFound } from '../drf/errors';
import type { AppEnv } from '../env';
import { throttle } from '../http/rate-limit';
import { defineRoute, type RouteInput } from '../http/route';
import { credentialsBody, logIn, mfaRequired } from './credentials';
import { tokenBody } from './token-body';

async function obtainToken(c: Context<AppEnv>, input: RouteInput<'none', undefined, typeof credentialsBody>) {
  const user = await logIn(c, await input.body());
  if (user.mfaEnabled) return mfaRequired(c, user, false);
  return c.json({ token: await issueAccessToken(user, c.get('settings')) });
}

const obtainRoute = (path: string, summary: string) =>
  defineRoute({
    method: 'post',
    path,
    tag: 'auth',
    summary,
    description: 'Inactive users cannot log in; every failure answers the same 400.',
    auth: 'none',
    rateLimit: 'obtain',
    body: credentialsBody,
    responses: { 200: 'LoginResult' },
    handler: obtainToken,
  });

/** The claims of a still-valid access token; 400 in DRF's shape otherwise. */
async function verifiedClaims(token: string, settings: Settings): Promise<AccessClaims> {
  try {
    return await verifyAccessToken(token, settings);
  } catch (error) {
    if (error instanceof TokenError) throw nonFieldError(error.message, error);
    throw error;
  }
}

/**
 * The user a token names, who must still exist and be active (as djangorestframework-jwt checks)
 * and must not have revoked the token since (logout, password change).
 */
async function activeUser(db: Database, claims: AccessClaims) {
  const user = await findTokenUser(db, claims.userId);
  if (!user) throw nonFieldError("User doesn't exist.");
  if (!user.isActive) throw nonFieldError('User account is disabled.');
  if (user.tokenVersion !== claims.tokenVersion) throw nonFieldError('Token has been revoked.');
  return user;
}

export const tokenRoutes = [
  obtainRoute('/api-auth/', "Obtain an access token (the tutorial's path)"),
  obtainRoute('/auth/obtain_token/', 'Obtain an access token'),
  defineRoute({
    method: 'post',
    path: '/auth/refresh_token/',
    tag: 'auth',
    summary: 'Exchange a still-valid access token for a new one with the same orig_iat',
    description:
      'Refused once orig_iat + JWT_REFRESH_EXPIRATION_DELTA has passed, and for a token of a browser session (which refreshes only through its cookie); 403 when JWT_ALLOW_REFRESH is false.',
    auth: 'none',
    rateLimit: 'refresh',
    body: tokenBody,
    responses: { 200: 'Token', 403: 'Detail' },
    handler: async (c, input) => {
      const settings = c.get('settings');
      if (!settings.jwtAllowRefresh) throw detail(403, 'Token refresh is disabled.');
      const claims = await verifiedClaims((await input.body()).token, settings);
      await throttle(c, 'RATE_LIMIT_USERNAME', `refresh:${claims.userId}`);
      if (claims.sessionId !== undefined) {
        throw nonFieldError('This token belongs to a browser session: refresh it with /auth/session/refresh/.');
      }
      if (claims.origIat === undefined) throw nonFieldError('orig_iat field is required.');
      if (refreshHasExpired(claims.origIat, settings)) throw nonFieldError('Refresh has expired.');
      const user = await activeUser(c.get('db'), claims);
      const token = await issueAccessToken(user, settings, {
        origIat: claims.origIat,
        authentication: claims.authentication,
      });
      return c.json({ token });
    },
  }),
  defineRoute({
    method: 'post',
    path: '/auth/verify_token/',
    tag: 'auth',
    summary: 'Check an access token',
    auth: 'none',
    body: tokenBody,
    responses: { 200: 'Token' },
    handler: async (c, input) => {
      const { token } = await input.body();
      await activeUser(c.get('db'), await verifiedClaims(token, c.get('settings')));
      return c.json({ token });
    },
  }),
  defineRoute({
    method: 'post',
    path: '/auth/logout/',
    tag: 'auth',
    summary: "End every refresh chain of the caller's tokens",
    description: 'Tokens issued before stop refreshing; with JWT_REVOCATION_CHECK on, they stop working at once.',
    auth: 'required',
    responses: { 204: null },
    handler: async (c, { user }) => {
      const db = c.get('db');
      const [[ended]] = await db.batch([
        db
          .update(users)
          .set({ tokenVersion: sql`${users.tokenVersion} + 1` })
          .where(eq(users.id, user.id))
          .returning({ id: users.id }),
        auditStatement(c, { kind: 'logout', actor: user, subject: user, details: { everywhere: true } }, 'ifChanged'),
      ]);
      if (!ended) throw userNotFound();
      return c.body(null, 204);
    },
  }),
];

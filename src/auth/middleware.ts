/**
 * Authorization header -> c.get('user'), from the access token alone (no database read unless
 * JWT_REVOCATION_CHECK is on; an OAuth access token's grant is always read).
 * The one place that maps a token failure to a 401.
 */
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { Database } from '../db/client';
import { findTokenUser } from '../db/users';
import { ApiError, invalidAuthorizationHeader, invalidToken, userDisabled, userNotFound } from '../drf/errors';
import type { AppEnv, AuthUser } from '../env';
import { MAX_TOKEN_LENGTH } from '../limits';
import type { Scope } from '../oauth/scopes';
import { bearerChallenge, checkOAuthAccessToken, REFUSAL_MESSAGES } from './oauth-bearer';
import { isOidcSigned } from './oidc-tokens';
import { TokenError, verifyAccessToken, type AccessClaims } from './tokens';

/** The token check's result; a TokenError becomes DRF's 401 with `WWW-Authenticate`. */
export async function unauthorizedOnTokenError<T>(check: Promise<T>): Promise<T> {
  try {
    return await check;
  } catch (error) {
    if (error instanceof TokenError) throw invalidToken(error.message, error);
    throw error;
  }
}

/**
 * With JWT_REVOCATION_CHECK on: one primary-key read, so that logout, a password change or a
 * deactivation takes effect at once instead of at the token's expiry.
 */
async function assertNotRevoked(db: Database, claims: AccessClaims): Promise<void> {
  const user = await findTokenUser(db, claims.userId);
  if (!user) throw userNotFound();
  if (user.tokenVersion !== claims.tokenVersion) throw invalidToken('Token has been revoked.');
  if (!user.isActive) throw userDisabled();
}

/** With an OAuth access token on a route that takes one: its user, acting only within the scope. */
async function oauthUser(c: Context<AppEnv>, token: string, scope: Scope): Promise<AuthUser> {
  const checked = await checkOAuthAccessToken(c.get('db'), c.get('settings'), token, scope);
  if ('refusal' in checked) {
    const headers = { 'WWW-Authenticate': bearerChallenge(checked.refusal, scope) };
    const status = checked.refusal === 'insufficient_scope' ? 403 : 401;
    throw new ApiError(status, { detail: REFUSAL_MESSAGES[checked.refusal] }, headers);
  }
  return {
    id: checked.claims.userId,
    username: checked.user.username,
    // A client acts for its user on their own tasks, never with a staff member's powers.
    isStaff: false,
    tokenVersion: checked.user.tokenVersion,
    sessionId: undefined,
    authentication: checked.claims.authentication,
  };
}

/**
 * Sets `user` from `Authorization: <prefix> <token>` (prefixes from JWT_AUTH_HEADER_PREFIX,
 * case-insensitive). No header, or another scheme such as Basic, leaves the request anonymous;
 * a configured prefix with a bad token is a 401, as in djangorestframework-jwt. `oauthScope`: an
 * access token of the OpenID Connect provider with this scope is accepted too; anywhere else,
 * such a token fails like any token not signed by JWT_SECRET's keys.
 */
export const authenticate = (oauthScope?: Scope) =>
  createMiddleware<AppEnv>(async (c, next) => {
    c.set('user', null);
    const header = c.req.header('Authorization');
    if (header !== undefined && header.trim() !== '') {
      const settings = c.get('settings');
      const prefix = /^\S+/.exec(header.trim())![0];
      if (settings.jwtAuthHeaderPrefixes.includes(prefix.toLowerCase())) {
        // Refused before any parsing or crypto; another scheme's header (Basic) stays anonymous.
        if (header.length > MAX_TOKEN_LENGTH) throw invalidToken('Error decoding signature.');
        const credentials = header.trim().split(/\s+/).slice(1);
        if (credentials.length === 0) {
          throw invalidAuthorizationHeader('Invalid Authorization header. No credentials provided.');
        }
        if (credentials.length > 1) {
          throw invalidAuthorizationHeader(
            'Invalid Authorization header. Credentials string should not contain spaces.',
          );
        }
        const token = credentials[0]!;
        if (oauthScope !== undefined && (await isOidcSigned(token, settings))) {
          c.set('user', await oauthUser(c, token, oauthScope));
        } else {
          const claims = await unauthorizedOnTokenError(verifyAccessToken(token, settings));
          if (settings.jwtRevocationCheck) await assertNotRevoked(c.get('db'), claims);
          const staffAllowed = !settings.mfaRequiredForStaff || claims.authentication.amr.includes('mfa');
          c.set('user', {
            id: claims.userId,
            username: claims.username,
            isStaff: claims.isStaff && staffAllowed,
            tokenVersion: claims.tokenVersion,
            sessionId: claims.sessionId,
            authentication: claims.authentication,
          });
        }
      }
    }
    await next();
  });

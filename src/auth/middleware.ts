/**
 * Authorization header -> c.var.user, from the access token alone (no database read unless
 * JWT_REVOCATION_CHECK is on).
 * The one place that maps a token failure to a 401.
 */
import { createMiddleware } from 'hono/factory';
import type { Database } from '../db/client';
import { findTokenUser } from '../db/users';
import { invalidAuthorizationHeader, invalidToken, userDisabled, userNotFound } from '../drf/errors';
import type { AppEnv } from '../env';
import { MAX_TOKEN_LENGTH } from '../limits';
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

/**
 * Sets `user` from `Authorization: <prefix> <token>` (prefixes from JWT_AUTH_HEADER_PREFIX,
 * case-insensitive). No header, or another scheme such as Basic, leaves the request anonymous;
 * a configured prefix with a bad token is a 401, as in djangorestframework-jwt.
 */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  c.set('user', null);
  const header = c.req.header('Authorization');
  if (header !== undefined && header.trim() !== '') {
    const settings = c.var.settings;
    const prefix = /^\S+/.exec(header.trim())![0];
    if (settings.jwtAuthHeaderPrefixes.includes(prefix.toLowerCase())) {
      // Refused before any parsing or crypto; another scheme's header (Basic) stays anonymous.
      if (header.length > MAX_TOKEN_LENGTH) throw invalidToken('Error decoding signature.');
      const credentials = header.trim().split(/\s+/).slice(1);
      if (credentials.length === 0) {
        throw invalidAuthorizationHeader('Invalid Authorization header. No credentials provided.');
      }
      if (credentials.length > 1) {
        throw invalidAuthorizationHeader('Invalid Authorization header. Credentials string should not contain spaces.');
      }
      const claims = await unauthorizedOnTokenError(verifyAccessToken(credentials[0]!, settings));
      if (settings.jwtRevocationCheck) await assertNotRevoked(c.var.db, claims);
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
  await next();
});

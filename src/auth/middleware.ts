/**
 * Authorization header -> c.var.user, from the access token alone (no database read unless
 * JWT_REVOCATION_CHECK is on).
 * The one place that maps a token failure to a 401.
 */
import { eq } from 'drizzle-orm';
import { createMiddleware } from 'hono/factory';
import { getDb } from '../db/client';
import { users } from '../db/schema';
import type { AppEnv } from '../env';
import { authenticationFailed } from '../errors';
import { TokenError, verifyAccessToken, type AccessClaims } from './tokens';

/** The token check's result; a TokenError becomes DRF's 401 with `WWW-Authenticate`. */
export async function unauthorizedOnTokenError<T>(check: Promise<T>): Promise<T> {
  try {
    return await check;
  } catch (error) {
    if (error instanceof TokenError) throw authenticationFailed(error.message, error);
    throw error;
  }
}

/**
 * With JWT_REVOCATION_CHECK on: one primary-key read, so that logout, a password change or a
 * deactivation takes effect at once instead of at the token's expiry.
 */
async function assertNotRevoked(binding: D1Database, claims: AccessClaims): Promise<void> {
  const [user] = await getDb(binding)
    .select({ tokenVersion: users.tokenVersion, isActive: users.isActive })
    .from(users)
    .where(eq(users.id, claims.userId));
  if (!user || user.tokenVersion !== claims.tokenVersion) throw authenticationFailed('Token has been revoked.');
  if (!user.isActive) throw authenticationFailed('User account is disabled.');
}

/** Longer headers are refused before any parsing or crypto. */
const MAX_AUTHORIZATION_LENGTH = 8192;

/**
 * Sets `user` from `Authorization: <prefix> <token>` (prefixes from JWT_AUTH_HEADER_PREFIX,
 * case-insensitive). No header, or another scheme such as Basic, leaves the request anonymous;
 * a configured prefix with a bad token is a 401, as in djangorestframework-jwt.
 */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  c.set('user', null);
  const header = c.req.header('Authorization');
  if (header !== undefined && header.length > MAX_AUTHORIZATION_LENGTH) {
    throw authenticationFailed('Error decoding signature.');
  }
  if (header !== undefined && header.trim() !== '') {
    const settings = c.var.settings;
    const [prefix = '', ...credentials] = header.trim().split(/\s+/);
    if (settings.jwtAuthHeaderPrefixes.includes(prefix.toLowerCase())) {
      if (credentials.length === 0) {
        throw authenticationFailed('Invalid Authorization header. No credentials provided.');
      }
      if (credentials.length > 1) {
        throw authenticationFailed('Invalid Authorization header. Credentials string should not contain spaces.');
      }
      const claims = await unauthorizedOnTokenError(verifyAccessToken(credentials[0]!, settings));
      if (settings.jwtRevocationCheck) await assertNotRevoked(c.env.DB, claims);
      c.set('user', { id: claims.userId, username: claims.username, isStaff: claims.isStaff });
    }
  }
  await next();
});

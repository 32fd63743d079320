/**
 * An OAuth access token presented to us (RFC 6750): valid, its grant still live (one D1 read: a
 * revoked consent, a logout everywhere or a deactivation ends it at once), and holding the scope
 * the route needs. Userinfo answers failures in RFC 6750's shape; the task routes in DRF's
 * (src/auth/middleware.ts).
 */
import type { Context } from 'hono';
import type { Settings } from '../config';
import type { Database } from '../db/client';
import { findLiveGrant } from '../db/oauth';
import { oauthError } from '../drf/errors';
import type { AppEnv } from '../env';
import type { Scope } from '../oauth/scopes';
import { verifyOAuthAccessToken, type OAuthAccessClaims } from './oidc-tokens';
import { TokenError } from './tokens';

export type BearerRefusal = 'invalid_token' | 'expired_token' | 'revoked_token' | 'insufficient_scope';

export const REFUSAL_MESSAGES: Record<BearerRefusal, string> = {
  invalid_token: 'Error decoding signature.',
  expired_token: 'Signature has expired.',
  revoked_token: 'Token has been revoked.',
  insufficient_scope: 'The token lacks the scope this request needs.',
};

export type GrantUser = NonNullable<Awaited<ReturnType<typeof findLiveGrant>>>;

export async function checkOAuthAccessToken(
  db: Database,
  settings: Settings,
  token: string,
  scope: Scope,
): Promise<{ claims: OAuthAccessClaims; user: GrantUser } | { refusal: BearerRefusal }> {
  let claims: OAuthAccessClaims;
  try {
    claims = await verifyOAuthAccessToken(token, settings);
  } catch (error) {
    if (!(error instanceof TokenError)) throw error;
    return { refusal: error.code === 'expired' ? 'expired_token' : 'invalid_token' };
  }
  const user = await findLiveGrant(db, claims);
  if (!user) return { refusal: 'revoked_token' };
  if (!claims.scopes.includes(scope)) return { refusal: 'insufficient_scope' };
  return { claims, user };
}

/** RFC 6750 §3: the challenge, with the error and, for a missing scope, the scope needed. */
export function bearerChallenge(refusal: BearerRefusal | undefined, scope: Scope): string {
  if (refusal === undefined) return 'Bearer realm="api"';
  const error = refusal === 'insufficient_scope' ? 'insufficient_scope' : 'invalid_token';
  return `Bearer realm="api", error="${error}"${error === 'insufficient_scope' ? `, scope="${scope}"` : ''}`;
}

/** For userinfo: the token of `Authorization: Bearer`, checked, or an RFC 6750 error. */
export async function oauthBearer(c: Context<AppEnv>, scope: Scope) {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('Authorization') ?? '');
  if (!match) {
    throw oauthError(401, 'invalid_request', 'Send an access token: Authorization: Bearer <token>.', {
      'WWW-Authenticate': bearerChallenge(undefined, scope),
    });
  }
  const checked = await checkOAuthAccessToken(c.get('db'), c.get('settings'), match[1]!, scope);
  if ('refusal' in checked) {
    const status = checked.refusal === 'insufficient_scope' ? 403 : 401;
    const error = checked.refusal === 'insufficient_scope' ? 'insufficient_scope' : 'invalid_token';
    throw oauthError(status, error, REFUSAL_MESSAGES[checked.refusal], {
      'WWW-Authenticate': bearerChallenge(checked.refusal, scope),
    });
  }
  return checked;
}

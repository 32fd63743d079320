/**
 * The OpenID Connect provider's back channel: the token endpoint (a code's exchange, a refresh
 * token's rotation), revocation (RFC 7009) and userinfo. Errors are RFC 6749's `{"error",
 * "error_description"}`. Not rate limited per IP: a client's servers make every exchange of its
 * users from few addresses, and codes, refresh tokens and secrets are 256-bit random values.
 */
import type { Context } from 'hono';
import { oauthBearer } from '../auth/oauth-bearer';
import {
  issueIdToken,
  issueOAuthAccessToken,
  userClaims,
  verifyOAuthAccessToken,
  type OidcUser,
} from '../auth/oidc-tokens';
import { hashSecret, isSecret, newSecret } from '../auth/random-secrets';
import { parseAmr, TokenError, type Authentication } from '../auth/tokens';
import {
  exchangeCode,
  findCode,
  findRefreshScopes,
  revokeByRefreshToken,
  revokeGrant,
  rotateRefreshToken,
  type OAuthClient,
} from '../db/oauth';
import { oauthError } from '../drf/errors';
import type { AppEnv } from '../env';
import { defineRoute } from '../http/route';
import { PKCE_VERIFIER, s256 } from '../oauth/authorize';
import { authenticateClient, invalidRequest, readForm } from '../oauth/client-auth';
import { covers, parseScopes, storedScopes, type Scope } from '../oauth/scopes';

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

const invalidGrant = (description: string) => oauthError(400, 'invalid_grant', description);

const required = (parameters: Record<string, string>, name: string): string => {
  const value = parameters[name];
  if (value === undefined) throw invalidRequest(`${name} is required.`);
  return value;
};

async function tokenResponse(
  c: Context<AppEnv>,
  grant: { id: string; user: OidcUser; client: OAuthClient; scopes: Scope[]; authentication: Authentication },
  { nonce, refreshToken }: { nonce: string | null; refreshToken: string | undefined },
) {
  const settings = c.get('settings');
  const now = new Date();
  const { user, client, scopes, authentication } = grant;
  const [accessToken, idToken] = await Promise.all([
    issueOAuthAccessToken(
      { userId: user.id, clientId: client.clientId, scopes, grantId: grant.id, authentication },
      settings,
      now,
    ),
    issueIdToken({ user, clientId: client.clientId, scopes, nonce, authentication }, settings, now),
  ]);
  return c.json(
    {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: settings.jwtExpirationDelta,
      scope: scopes.join(' '),
      id_token: idToken,
      ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
    },
    200,
    NO_STORE,
  );
}

/** How long a grant may be used: with `offline_access`, the refresh horizon; else its access tokens' life. */
function grantEnd(scopes: readonly Scope[], now: Date, c: Context<AppEnv>): Date {
  const settings = c.get('settings');
  const seconds = scopes.includes('offline_access')
    ? settings.jwtRefreshExpirationDelta
    : settings.jwtExpirationDelta + settings.jwtLeeway;
  return new Date(now.getTime() + seconds * 1000);
}

async function exchange(c: Context<AppEnv>, client: OAuthClient, parameters: Record<string, string>) {
  const db = c.get('db');
  const code = required(parameters, 'code');
  const redirectUri = required(parameters, 'redirect_uri');
  const verifier = required(parameters, 'code_verifier');
  const found = isSecret(code) ? await findCode(db, await hashSecret(code)) : undefined;
  if (!found) throw invalidGrant('The code is not valid.');
  const { code: stored, user } = found;
  if (stored.grantId !== null) {
    // RFC 6749 §4.1.2: a code used twice was stolen or replayed; what it gave is revoked.
    await revokeGrant(db, stored.grantId);
    throw invalidGrant('The code was already used: what it issued is revoked.');
  }
  const now = new Date();
  if (stored.clientId !== client.clientId) throw invalidGrant('The code was issued to another client.');
  if (stored.expiresAt.getTime() <= now.getTime()) throw invalidGrant('The code has expired.');
  if (stored.redirectUri !== redirectUri) throw invalidGrant('redirect_uri differs from the authorization request.');
  if (!PKCE_VERIFIER.test(verifier) || (await s256(verifier)) !== stored.codeChallenge) {
    throw invalidGrant('The code_verifier does not match the code_challenge.');
  }
  if (!user.isActive) throw invalidGrant('The user can no longer sign in.');
  const scopes = storedScopes(stored.scopes);
  const refreshToken = scopes.includes('offline_access') ? newSecret() : undefined;
  const grantId = crypto.randomUUID();
  const won = await exchangeCode(db, stored, {
    id: grantId,
    tokenVersion: user.tokenVersion,
    expiresAt: grantEnd(scopes, now, c),
    refreshHash: refreshToken === undefined ? undefined : await hashSecret(refreshToken),
    now,
  });
  if (!won) {
    // Another exchange of the same code won the race: the code is replayed, both lose.
    const winner = await findCode(db, stored.codeHash);
    if (winner?.code.grantId) await revokeGrant(db, winner.code.grantId);
    throw invalidGrant('The code was already used: what it issued is revoked.');
  }
  const authentication = { amr: parseAmr(stored.amr), authTime: Math.floor(stored.authTime.getTime() / 1000) };
  return tokenResponse(c, { id: grantId, user, client, scopes, authentication }, { nonce: stored.nonce, refreshToken });
}

async function refresh(c: Context<AppEnv>, client: OAuthClient, parameters: Record<string, string>) {
  const db = c.get('db');
  const presented = required(parameters, 'refresh_token');
  if (!isSecret(presented)) throw invalidGrant('The refresh token is not valid.');
  const presentedHash = await hashSecret(presented);
  let narrowed: Scope[] | undefined;
  if (parameters.scope !== undefined) {
    // RFC 6749 §6: a narrower scope for this access token; never one the grant lacks.
    narrowed = parseScopes(parameters.scope) ?? undefined;
    const granted = await findRefreshScopes(db, presentedHash);
    if (!narrowed || (granted !== undefined && !covers(storedScopes(granted), narrowed))) {
      throw oauthError(400, 'invalid_scope', 'The scope must be within what the user allowed, with openid.');
    }
  }
  const next = newSecret();
  const { grant, reused } = await rotateRefreshToken(db, {
    presentedHash,
    nextHash: await hashSecret(next),
    clientId: client.clientId,
    now: new Date(),
  });
  if (reused) throw invalidGrant('The refresh token was already used: the grant is revoked.');
  if (!grant) throw invalidGrant('The refresh token is not valid, has expired or was revoked.');
  const authentication = { amr: parseAmr(grant.amr), authTime: Math.floor(grant.authTime.getTime() / 1000) };
  const user = { id: grant.userId, username: grant.username, email: grant.email, emailVerified: grant.emailVerified };
  return tokenResponse(
    c,
    { id: grant.id, user, client, scopes: narrowed ?? storedScopes(grant.scopes), authentication },
    { nonce: null, refreshToken: next },
  );
}

async function token(c: Context<AppEnv>) {
  const parameters = await readForm(c);
  const client = await authenticateClient(c, parameters);
  const grantType = required(parameters, 'grant_type');
  if (grantType === 'authorization_code') return exchange(c, client, parameters);
  if (grantType === 'refresh_token') return refresh(c, client, parameters);
  throw oauthError(400, 'unsupported_grant_type', 'grant_type must be authorization_code or refresh_token.');
}

/** RFC 7009: the grant of this client's refresh or access token ends; anything else is ignored. */
async function revoke(c: Context<AppEnv>) {
  const parameters = await readForm(c);
  const client = await authenticateClient(c, parameters);
  const presented = required(parameters, 'token');
  const db = c.get('db');
  if (isSecret(presented)) {
    await revokeByRefreshToken(db, await hashSecret(presented), client.clientId);
  } else {
    try {
      const claims = await verifyOAuthAccessToken(presented, c.get('settings'));
      if (claims.clientId === client.clientId) await revokeGrant(db, claims.grantId);
    } catch (error) {
      if (!(error instanceof TokenError)) throw error;
    }
  }
  return c.body(null, 200, NO_STORE);
}

async function userinfo(c: Context<AppEnv>) {
  const { claims, user } = await oauthBearer(c, 'openid');
  return c.json(userClaims({ id: claims.userId, ...user }, claims.scopes), 200, NO_STORE);
}

const OAUTH_ERRORS = { 400: 'OAuthError', 401: 'OAuthError' } as const;
const BEARER_ERRORS = { 401: 'OAuthError', 403: 'OAuthError' } as const;
const CHALLENGE = { 'WWW-Authenticate': 'Why the token or client was refused (RFC 6750 §3, RFC 6749 §5.2).' };

const userinfoRoute = (method: 'get' | 'post') =>
  defineRoute({
    method,
    path: '/oauth/userinfo/',
    tag: 'oauth',
    summary: "The user's claims, for an access token of the provider",
    description:
      '`Authorization: Bearer <access_token>` from /oauth/token: `sub`, with `preferred_username` for the scope `profile` and `email`, `email_verified` for `email`.',
    auth: 'none',
    responses: { 200: 'UserInfo', ...BEARER_ERRORS },
    headers: { 401: CHALLENGE, 403: CHALLENGE },
    handler: userinfo,
  });

export const oauthTokenRoutes = [
  defineRoute({
    method: 'post',
    path: '/oauth/token/',
    tag: 'oauth',
    summary: 'The token endpoint: a code or a refresh token for an ID token and an access token',
    description:
      'A form body (application/x-www-form-urlencoded). `grant_type=authorization_code` with `code`, `redirect_uri` and `code_verifier`: a code works once within 60 s, for its client, redirect URI and PKCE verifier, and a replayed one revokes what it issued. `grant_type=refresh_token` with `refresh_token` (and a narrower `scope`): each is single use, and a used one presented again ends its grant. The client authenticates with `client_secret_basic`, `client_secret_post`, or only `client_id` when public.',
    auth: 'none',
    responses: { 200: 'OAuthTokens', ...OAUTH_ERRORS },
    headers: { 401: CHALLENGE },
    handler: token,
  }),
  defineRoute({
    method: 'post',
    path: '/oauth/revoke/',
    tag: 'oauth',
    summary: "RFC 7009: revoke a refresh or access token, which ends the user's grant to this client",
    description:
      'A form body with `token` (and `token_type_hint`, not needed); authenticated as at /oauth/token. 200 whether or not the token was known.',
    auth: 'none',
    responses: { 200: null, ...OAUTH_ERRORS },
    headers: { 401: CHALLENGE },
    handler: revoke,
  }),
  userinfoRoute('get'),
  userinfoRoute('post'),
];

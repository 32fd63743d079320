/**
 * The tokens of the OpenID Connect provider, all signed with OIDC_SIGNING_KEY (RS256), never with
 * JWT_SECRET's ring, so none of them passes where a tutorial token is expected, nor the reverse:
 * - the authorization request, checked by GET /oauth/authorize and carried through the app's
 *   consent page (`oauth-request+jwt`, for us only), and likewise a logout request
 *   (`logout-request+jwt`);
 * - ID tokens for a client (`JWT`, `aud` the client);
 * - access tokens (RFC 9068 `at+jwt`, `aud` the issuer, with `client_id`, `scope` and the grant's
 *   id `gid`, which must still be live when the token is used).
 * Knows nothing of HTTP. With tokens.ts and keys.ts, the only files that import jose.
 */
import { decodeProtectedHeader, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { Settings } from '../config';
import { perSettings } from '../per-settings';
import { storedScopes, type Scope } from '../oauth/scopes';
import { oidcKeyRing } from './keys';
import { keyByKid, parseAmr, TokenError, toTokenError, type Authentication } from './tokens';

/** How long the login and consent pages may take before the client must start again. */
export const AUTHORIZATION_REQUEST_LIFETIME = 600;

const TYPES = { request: 'oauth-request+jwt', logout: 'logout-request+jwt', id: 'JWT', access: 'at+jwt' } as const;

const epochSeconds = (now: Date) => Math.floor(now.getTime() / 1000);

async function sign(
  type: keyof typeof TYPES,
  claims: JWTPayload,
  { audience, lifetime, settings, now }: { audience: string; lifetime: number; settings: Settings; now: Date },
) {
  const { algorithm, signing } = await oidcKeyRing(settings);
  const iat = epochSeconds(now);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: algorithm, typ: TYPES[type], kid: signing.kid })
    .setIssuer(settings.siteUrl)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + lifetime)
    .sign(signing.key);
}

async function verify(
  type: keyof typeof TYPES,
  token: string,
  {
    audience,
    lifetime,
    settings,
    now,
    expiredFor = 0,
  }: {
    audience: string | undefined;
    lifetime: number;
    settings: Settings;
    now: Date;
    /** How long past its `exp` the token still counts (an ID token as a logout hint). */
    expiredFor?: number;
  },
): Promise<JWTPayload> {
  try {
    const ring = await oidcKeyRing(settings);
    const { payload } = await jwtVerify(token, keyByKid(ring.verifying), {
      algorithms: [ring.algorithm],
      typ: TYPES[type],
      issuer: settings.siteUrl,
      audience,
      clockTolerance: settings.jwtLeeway + expiredFor,
      maxTokenAge: lifetime + expiredFor,
      requiredClaims: ['exp', 'iat'],
      currentDate: now,
    });
    if ((payload.exp ?? Infinity) - (payload.iat ?? 0) > lifetime) throw new TokenError('invalid');
    return payload;
  } catch (error) {
    throw toTokenError(error);
  }
}

/** A checked authorization request: what the consent page shows and the code will be bound to. */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  scopes: Scope[];
  state: string | undefined;
  nonce: string | undefined;
  codeChallenge: string;
  /** `login`: authenticate again whatever the session; `consent`: ask even if remembered. */
  prompt: 'none' | 'login' | 'consent' | undefined;
  maxAge: number | undefined;
  /** When the request was checked (seconds): a `prompt=login` is met by a login after it. */
  issuedAt: number;
}

const REQUEST_AUDIENCE = 'authorize';

export function issueAuthorizationRequest(
  request: Omit<AuthorizationRequest, 'issuedAt'>,
  settings: Settings,
  now = new Date(),
): Promise<string> {
  const claims = {
    client_id: request.clientId,
    redirect_uri: request.redirectUri,
    scope: request.scopes.join(' '),
    code_challenge: request.codeChallenge,
    ...(request.state === undefined ? {} : { state: request.state }),
    ...(request.nonce === undefined ? {} : { nonce: request.nonce }),
    ...(request.prompt === undefined ? {} : { prompt: request.prompt }),
    ...(request.maxAge === undefined ? {} : { max_age: request.maxAge }),
  };
  return sign('request', claims, {
    audience: REQUEST_AUDIENCE,
    lifetime: AUTHORIZATION_REQUEST_LIFETIME,
    settings,
    now,
  });
}

const optionalString = (value: unknown): value is string | undefined =>
  value === undefined || typeof value === 'string';

export async function verifyAuthorizationRequest(
  token: string,
  settings: Settings,
  now = new Date(),
): Promise<AuthorizationRequest> {
  const payload = await verify('request', token, {
    audience: REQUEST_AUDIENCE,
    lifetime: AUTHORIZATION_REQUEST_LIFETIME,
    settings,
    now,
  });
  const { client_id, redirect_uri, scope, code_challenge, state, nonce, prompt, max_age } = payload;
  const valid =
    typeof client_id === 'string' &&
    typeof redirect_uri === 'string' &&
    typeof scope === 'string' &&
    typeof code_challenge === 'string' &&
    optionalString(state) &&
    optionalString(nonce) &&
    (prompt === undefined || prompt === 'none' || prompt === 'login' || prompt === 'consent') &&
    (max_age === undefined || (typeof max_age === 'number' && Number.isSafeInteger(max_age) && max_age >= 0));
  if (!valid) throw new TokenError('invalid');
  return {
    clientId: client_id,
    redirectUri: redirect_uri,
    scopes: storedScopes(scope),
    codeChallenge: code_challenge,
    state,
    nonce,
    prompt,
    maxAge: max_age,
    issuedAt: payload.iat!,
  };
}

/** What a client learns of a user, by scope. */
export interface OidcUser {
  id: number;
  username: string;
  email: string;
  emailVerified: boolean;
}

/** The claims of userinfo and of the ID token for these scopes (OIDC Core §5.4). */
export function userClaims(user: OidcUser, scopes: readonly Scope[]) {
  return {
    sub: String(user.id),
    ...(scopes.includes('profile') ? { preferred_username: user.username } : {}),
    ...(scopes.includes('email') ? { email: user.email, email_verified: user.emailVerified } : {}),
  };
}

export function issueIdToken(
  {
    user,
    clientId,
    scopes,
    nonce,
    authentication,
  }: {
    user: OidcUser;
    clientId: string;
    scopes: readonly Scope[];
    nonce: string | null;
    authentication: Authentication;
  },
  settings: Settings,
  now = new Date(),
): Promise<string> {
  const claims = {
    ...userClaims(user, scopes),
    auth_time: authentication.authTime,
    amr: authentication.amr,
    azp: clientId,
    ...(nonce === null ? {} : { nonce }),
  };
  return sign('id', claims, { audience: clientId, lifetime: settings.jwtExpirationDelta, settings, now });
}

/** What an OAuth access token says; its grant must still be live (src/db/oauth.ts). */
export interface OAuthAccessClaims {
  userId: number;
  clientId: string;
  scopes: Scope[];
  grantId: string;
  authentication: Authentication;
}

export function issueOAuthAccessToken(
  { userId, clientId, scopes, grantId, authentication }: OAuthAccessClaims,
  settings: Settings,
  now = new Date(),
): Promise<string> {
  const claims = {
    sub: String(userId),
    client_id: clientId,
    scope: scopes.join(' '),
    gid: grantId,
    jti: crypto.randomUUID(),
    auth_time: authentication.authTime,
    amr: authentication.amr,
  };
  return sign('access', claims, { audience: settings.siteUrl, lifetime: settings.jwtExpirationDelta, settings, now });
}

export async function verifyOAuthAccessToken(
  token: string,
  settings: Settings,
  now = new Date(),
): Promise<OAuthAccessClaims> {
  const payload = await verify('access', token, {
    audience: settings.siteUrl,
    lifetime: settings.jwtExpirationDelta,
    settings,
    now,
  });
  const { sub, client_id, scope, gid, auth_time, amr } = payload;
  const userId = Number(sub);
  const valid =
    typeof sub === 'string' &&
    Number.isSafeInteger(userId) &&
    userId > 0 &&
    String(userId) === sub &&
    typeof client_id === 'string' &&
    typeof scope === 'string' &&
    typeof gid === 'string' &&
    typeof auth_time === 'number' &&
    Number.isSafeInteger(auth_time) &&
    Array.isArray(amr) &&
    amr.every((method) => typeof method === 'string');
  if (!valid) throw new TokenError('invalid');
  return {
    userId,
    clientId: client_id,
    scopes: storedScopes(scope),
    grantId: gid,
    authentication: { amr: parseAmr(amr.join(' ')), authTime: auth_time },
  };
}

/**
 * An RP-initiated logout's `id_token_hint` (OpenID Connect RP-Initiated Logout §2): one of our ID
 * tokens, for any client, expired or not (within the refresh horizon). Answers its client and user.
 */
export async function verifyIdTokenHint(
  token: string,
  settings: Settings,
  now = new Date(),
): Promise<{ clientId: string; userId: string }> {
  const payload = await verify('id', token, {
    audience: undefined,
    lifetime: settings.jwtExpirationDelta,
    settings,
    now,
    expiredFor: settings.jwtRefreshExpirationDelta,
  });
  if (typeof payload.aud !== 'string' || typeof payload.sub !== 'string') throw new TokenError('invalid');
  return { clientId: payload.aud, userId: payload.sub };
}

/** A checked logout request, carried through the app's logout page. */
export interface LogoutRequest {
  clientName: string | undefined;
  /** The client's post-logout URI with `state`, if it asked to come back. */
  redirectTo: string | undefined;
}

const LOGOUT_AUDIENCE = 'end-session';

export function issueLogoutRequest(request: LogoutRequest, settings: Settings, now = new Date()): Promise<string> {
  const claims = {
    ...(request.clientName === undefined ? {} : { client_name: request.clientName }),
    ...(request.redirectTo === undefined ? {} : { redirect_to: request.redirectTo }),
  };
  return sign('logout', claims, {
    audience: LOGOUT_AUDIENCE,
    lifetime: AUTHORIZATION_REQUEST_LIFETIME,
    settings,
    now,
  });
}

export async function verifyLogoutRequest(token: string, settings: Settings, now = new Date()): Promise<LogoutRequest> {
  const payload = await verify('logout', token, {
    audience: LOGOUT_AUDIENCE,
    lifetime: AUTHORIZATION_REQUEST_LIFETIME,
    settings,
    now,
  });
  const { client_name: clientName, redirect_to: redirectTo } = payload;
  if (!optionalString(clientName) || !optionalString(redirectTo)) throw new TokenError('invalid');
  return { clientName, redirectTo };
}

const HEADERS_KEPT = 64;

/**
 * isOidcSigned's answer by the token's header segment: every token of one key and kind has the
 * same header, so a client's requests decode it once. The header is public (alg, kid, typ).
 */
const oidcSignedHeaders = perSettings(() => new Map<string, boolean>());

/** True when the token is signed by OIDC_SIGNING_KEY's ring (an OAuth access token, or a forgery). */
export async function isOidcSigned(token: string, settings: Settings): Promise<boolean> {
  const dot = token.indexOf('.');
  if (dot < 0) return false;
  const header = token.slice(0, dot);
  const known = oidcSignedHeaders(settings);
  let answer = known.get(header);
  if (answer === undefined) {
    answer = await namesOidcKey(token, settings);
    if (known.size >= HEADERS_KEPT) known.delete(known.keys().next().value!);
    known.set(header, answer);
  }
  return answer;
}

async function namesOidcKey(token: string, settings: Settings): Promise<boolean> {
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch {
    return false;
  }
  return typeof kid === 'string' && (await oidcKeyRing(settings)).verifying.has(kid);
}

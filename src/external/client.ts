/**
 * Our side of a sign-in at another provider: where to send the browser, the code's exchange, and
 * what the provider says of the user. For an OpenID Connect issuer, by its discovery document and
 * its ID token, verified with jose against its JWKS (issuer, audience, expiry, nonce, signature;
 * asymmetric algorithms only); for GitHub (OAuth 2, not OIDC), by its user API, with an email only
 * if GitHub says it is the primary one and verified. Knows nothing of our users or of HTTP routes.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { ExternalProvider } from './provider-settings';

/** Why a sign-in failed, as the app's login page names it (`?external_error=`). */
export type ExternalFailure =
  | 'denied'
  | 'state'
  | 'provider_unavailable'
  | 'provider_refused'
  | 'invalid_id_token'
  | 'account_disabled'
  | 'registration_closed'
  | 'sessions_disabled';

export class ExternalLoginError extends Error {
  constructor(
    readonly failure: ExternalFailure,
    options?: { cause?: unknown },
  ) {
    super(`External sign-in failed: ${failure}`, options);
    this.name = 'ExternalLoginError';
  }
}

interface Endpoints {
  authorization: string;
  token: string;
  /** OIDC: the keys of its ID tokens. */
  jwks?: string;
  /** GitHub: its REST API. */
  api?: string;
}

/** What the provider says of its user. */
export interface ExternalProfile {
  subject: string;
  email: string | undefined;
  emailVerified: boolean;
  /** A username to start from: `preferred_username`, GitHub's login, or the email's local part. */
  usernameHint: string | undefined;
}

const DISCOVERY_TTL_MS = 60 * 60 * 1000;
const TIMEOUT_MS = 10_000;
const ID_TOKEN_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];

/** Per isolate: a provider's discovery document is read once an hour, its JWKS as jose caches it. */
const discovered = new Map<string, { endpoints: Endpoints; until: number }>();
const keySets = new Map<string, JWTVerifyGetKey>();

async function providerFetch(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'manual' });
  } catch (error) {
    throw new ExternalLoginError('provider_unavailable', { cause: error });
  }
}

/** An endpoint the provider names must be as safe as its issuer: https, or http on loopback. */
function checkedUrl(value: unknown, issuer: string): string {
  if (typeof value !== 'string') throw new ExternalLoginError('provider_unavailable');
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== new URL(issuer).protocol) {
    throw new ExternalLoginError('provider_unavailable');
  }
  return url.href;
}

async function discover(provider: ExternalProvider): Promise<Endpoints> {
  const cached = discovered.get(provider.id);
  if (cached && cached.until > Date.now()) return cached.endpoints;
  const response = await providerFetch(`${provider.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!response.ok) throw new ExternalLoginError('provider_unavailable');
  const metadata = (await response.json().catch(() => null)) as Record<string, unknown> | null;
  // OpenID Connect Discovery §4.3: the document must name the issuer we configured, exactly.
  if (metadata?.issuer !== provider.issuer) throw new ExternalLoginError('provider_unavailable');
  const endpoints = {
    authorization: checkedUrl(metadata.authorization_endpoint, provider.issuer),
    token: checkedUrl(metadata.token_endpoint, provider.issuer),
    jwks: checkedUrl(metadata.jwks_uri, provider.issuer),
  };
  discovered.set(provider.id, { endpoints, until: Date.now() + DISCOVERY_TTL_MS });
  return endpoints;
}

function githubEndpoints(provider: ExternalProvider): Endpoints {
  const web = provider.issuer.replace(/\/$/, '');
  return {
    authorization: `${web}/login/oauth/authorize`,
    token: `${web}/login/oauth/access_token`,
    api: web === 'https://github.com' ? 'https://api.github.com' : `${web}/api/v3`,
  };
}

const endpointsOf = (provider: ExternalProvider) =>
  provider.type === 'github' ? Promise.resolve(githubEndpoints(provider)) : discover(provider);

/** Where the browser goes to sign in at the provider. */
export async function authorizationUrl(
  provider: ExternalProvider,
  {
    redirectUri,
    state,
    nonce,
    codeChallenge,
  }: { redirectUri: string; state: string; nonce: string; codeChallenge: string },
): Promise<string> {
  const url = new URL((await endpointsOf(provider)).authorization);
  const parameters: Record<string, string> = {
    response_type: 'code',
    client_id: provider.clientId,
    redirect_uri: redirectUri,
    scope: provider.scopes.join(' '),
    state,
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    ...(provider.type === 'oidc' ? { nonce } : {}),
  };
  for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value);
  return url.href;
}

/**
 * RFC 6749 §4.1.3: client_secret_basic for an OpenID Connect provider (every one takes it), the
 * secret in the body for GitHub, as its documentation asks.
 */
async function exchangeCode(
  provider: ExternalProvider,
  endpoints: Endpoints,
  { code, verifier, redirectUri }: { code: string; verifier: string; redirectUri: string },
): Promise<Record<string, unknown>> {
  const encode = (text: string) => encodeURIComponent(text).replace(/%20/g, '+');
  const form = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
    code_verifier: verifier,
  });
  const headers: Record<string, string> = {
    'Content-Type': 'application/x-www-form-urlencoded',
    Accept: 'application/json',
  };
  if (provider.type === 'github') {
    form.set('client_id', provider.clientId);
    form.set('client_secret', provider.clientSecret);
  } else {
    headers.Authorization = `Basic ${btoa(`${encode(provider.clientId)}:${encode(provider.clientSecret)}`)}`;
  }
  const response = await providerFetch(endpoints.token, { method: 'POST', headers, body: form.toString() });
  const body = (await response.json().catch(() => null)) as Record<string, unknown> | null;
  // GitHub answers a refused code with 200 and an `error`.
  if (!response.ok || body === null || 'error' in body) throw new ExternalLoginError('provider_refused');
  return body;
}

function keySetOf(jwksUri: string): JWTVerifyGetKey {
  let keys = keySets.get(jwksUri);
  if (!keys) keySets.set(jwksUri, (keys = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: TIMEOUT_MS })));
  return keys;
}

async function verifiedIdToken(
  provider: ExternalProvider,
  endpoints: Endpoints,
  idToken: unknown,
  nonce: string,
): Promise<ExternalProfile> {
  if (typeof idToken !== 'string') throw new ExternalLoginError('invalid_id_token');
  let claims: Record<string, unknown>;
  try {
    ({ payload: claims } = await jwtVerify(idToken, keySetOf(endpoints.jwks!), {
      algorithms: ID_TOKEN_ALGORITHMS,
      issuer: provider.issuer,
      audience: provider.clientId,
      requiredClaims: ['sub', 'exp', 'iat'],
      clockTolerance: 60,
    }));
  } catch (error) {
    if (error instanceof errors.JOSEError) throw new ExternalLoginError('invalid_id_token', { cause: error });
    throw new ExternalLoginError('provider_unavailable', { cause: error });
  }
  // OIDC Core §3.1.3.7: the nonce we sent; with several audiences, `azp` must be us.
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (claims.nonce !== nonce || (audiences.length > 1 && claims.azp !== provider.clientId)) {
    throw new ExternalLoginError('invalid_id_token');
  }
  const email = typeof claims.email === 'string' ? claims.email : undefined;
  const hint = typeof claims.preferred_username === 'string' ? claims.preferred_username : email?.split('@')[0];
  return {
    subject: String(claims.sub),
    email,
    emailVerified: email !== undefined && claims.email_verified === true,
    usernameHint: hint,
  };
}

async function githubProfile(endpoints: Endpoints, accessToken: unknown): Promise<ExternalProfile> {
  if (typeof accessToken !== 'string') throw new ExternalLoginError('provider_refused');
  const get = async (path: string) => {
    const response = await providerFetch(`${endpoints.api}${path}`, {
      headers: {
        Authorization: `Bearer ${accessToken}`,
        Accept: 'application/vnd.github+json',
        'User-Agent': 'edge-jwt-tasks-api',
      },
    });
    if (!response.ok) throw new ExternalLoginError('provider_refused');
    return response.json().catch(() => null) as Promise<unknown>;
  };
  const user = (await get('/user')) as { id?: unknown; login?: unknown } | null;
  if (typeof user?.id !== 'number' || !Number.isSafeInteger(user.id)) throw new ExternalLoginError('provider_refused');
  const emails = (await get('/user/emails')) as { email?: unknown; primary?: unknown; verified?: unknown }[] | null;
  const primary = Array.isArray(emails)
    ? emails.find((entry) => entry.primary === true && entry.verified === true && typeof entry.email === 'string')
    : undefined;
  return {
    subject: String(user.id),
    email: primary?.email as string | undefined,
    emailVerified: primary !== undefined,
    usernameHint: typeof user.login === 'string' ? user.login : undefined,
  };
}

/** The callback's work: the code exchanged, and who the provider says signed in. */
export async function completeSignIn(
  provider: ExternalProvider,
  { code, verifier, nonce, redirectUri }: { code: string; verifier: string; nonce: string; redirectUri: string },
): Promise<ExternalProfile> {
  const endpoints = await endpointsOf(provider);
  const tokens = await exchangeCode(provider, endpoints, { code, verifier, redirectUri });
  return provider.type === 'github'
    ? githubProfile(endpoints, tokens.access_token)
    : verifiedIdToken(provider, endpoints, tokens.id_token, nonce);
}

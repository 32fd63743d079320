/**
 * The authorization endpoint's rules (RFC 6749 §4.1, RFC 9700, OpenID Connect Core §3.1.2): which
 * redirect URIs a client may use, which requests are refused and how, and the redirect that
 * answers the client. No HTTP and no database here: src/routes/oauth.ts does both.
 */
import type { AuthorizationRequest } from '../auth/oidc-tokens';
import { base64url } from '../base64url';
import { isLoopbackUri } from './clients';
import { parseScopes } from './scopes';

/** Errors about the client or its redirect URI: shown on our own page, never sent to the URI. */
export type UnsafeToRedirect = 'unknown_client' | 'invalid_redirect_uri';

/**
 * `uri` exactly as registered; for a loopback URI, any port (RFC 8252 §7.3: a native app listens
 * on whichever port it gets), with the scheme, host, path and query exact.
 */
export function isRegisteredRedirect(registered: readonly string[], uri: string): boolean {
  if (registered.includes(uri)) return true;
  let presented: URL;
  try {
    presented = new URL(uri);
  } catch {
    return false;
  }
  return registered.some((candidate) => {
    const url = new URL(candidate);
    if (!isLoopbackUri(url)) return false;
    url.port = presented.port;
    return url.href === presented.href && !uri.includes('#');
  });
}

/** A refused request, for the client's redirect URI (RFC 6749 §4.1.2.1). */
export interface AuthorizationError {
  error: 'invalid_request' | 'unsupported_response_type' | 'invalid_scope' | 'request_not_supported';
  description: string;
}

/** RFC 7636 §4.1: a verifier is 43..128 unreserved characters. */
export const PKCE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
/** Its S256 challenge: 32 bytes, base64url. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/** Longer `state` or `nonce` values are refused: they ride in URLs and in the signed request. */
const MAX_OPAQUE_LENGTH = 512;

export const AUTHORIZATION_PARAMETERS = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'prompt',
  'max_age',
  'response_mode',
  'request',
  'request_uri',
] as const;

type Parameters = Partial<Record<(typeof AUTHORIZATION_PARAMETERS)[number], string>>;

/**
 * The parameters we read (unknown ones are ignored, as RFC 6749 §3.1 asks), and the name of one
 * sent twice, if any: such a request is refused.
 */
export function readParameters<N extends string>(
  query: Record<string, string[]>,
  names: readonly N[],
): { parameters: Partial<Record<N, string>>; repeated?: N } {
  const parameters: Partial<Record<N, string>> = {};
  let repeated: N | undefined;
  for (const name of names) {
    const values = query[name];
    if (values === undefined) continue;
    if (values.length > 1) repeated ??= name;
    else if (values[0] !== '') parameters[name] = values[0];
  }
  return { parameters, repeated };
}

/** `prompt`: the values we honour; `select_account` means nothing here (one account per browser). */
function parsePrompt(prompt: string | undefined): AuthorizationRequest['prompt'] | null {
  if (prompt === undefined) return undefined;
  const values = new Set(prompt.split(' ').filter((value) => value !== '' && value !== 'select_account'));
  if (values.has('none') && values.size > 1) return null;
  if (![...values].every((value) => value === 'none' || value === 'login' || value === 'consent')) return null;
  // `login consent` asks for both: a fresh login is the stronger, and consent follows from it.
  if (values.has('none')) return 'none';
  if (values.has('login')) return 'login';
  return values.has('consent') ? 'consent' : undefined;
}

/**
 * The request, or why it is refused. Called once the client and the redirect URI are known good,
 * so that every refusal here may go back to the client.
 */
export function checkAuthorizationParameters(
  parameters: Parameters,
  client: { clientId: string },
  redirectUri: string,
): Omit<AuthorizationRequest, 'issuedAt'> | AuthorizationError {
  const invalid = (description: string): AuthorizationError => ({ error: 'invalid_request', description });
  if (parameters.request !== undefined || parameters.request_uri !== undefined) {
    return { error: 'request_not_supported', description: 'Request objects are not supported.' };
  }
  if (parameters.response_type !== 'code') {
    return { error: 'unsupported_response_type', description: 'Only response_type=code is supported.' };
  }
  if (parameters.response_mode !== undefined && parameters.response_mode !== 'query') {
    return invalid('Only response_mode=query is supported.');
  }
  const scopes = parseScopes(parameters.scope);
  if (scopes === null) {
    return { error: 'invalid_scope', description: 'The scope must include openid, and only supported scopes.' };
  }
  if (parameters.code_challenge === undefined) return invalid('PKCE is required: send code_challenge.');
  if (parameters.code_challenge_method !== 'S256') return invalid('Only code_challenge_method=S256 is supported.');
  if (!S256_CHALLENGE.test(parameters.code_challenge)) return invalid('code_challenge is malformed.');
  const prompt = parsePrompt(parameters.prompt);
  if (prompt === null) return invalid('prompt must be none, or any of login and consent.');
  let maxAge: number | undefined;
  if (parameters.max_age !== undefined) {
    if (!/^\d{1,9}$/.test(parameters.max_age)) return invalid('max_age must be a number of seconds.');
    maxAge = Number(parameters.max_age);
  }
  for (const name of ['state', 'nonce'] as const) {
    if ((parameters[name]?.length ?? 0) > MAX_OPAQUE_LENGTH) {
      return invalid(`${name} is longer than ${MAX_OPAQUE_LENGTH} characters.`);
    }
  }
  return {
    clientId: client.clientId,
    redirectUri,
    scopes,
    state: parameters.state,
    nonce: parameters.nonce,
    codeChallenge: parameters.code_challenge,
    prompt,
    maxAge,
  };
}

/** The redirect to the client: its URI with our answer, `state` and `iss` (RFC 9207) added. */
export function authorizationResponse(
  redirectUri: string,
  issuer: string,
  answer: Record<string, string | undefined>,
): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries({ ...answer, iss: issuer })) {
    if (value !== undefined) url.searchParams.set(name, value);
  }
  return url.href;
}

/** The S256 challenge of a PKCE verifier (RFC 7636 §4.2). */
export async function s256(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
}

/**
 * The OpenID Connect provider's discovery and authorization endpoints. GET /oauth/authorize checks
 * the client's request and sends the browser to the app's page /app/authorize with the request
 * signed; the page, holding the user's session, asks POST /oauth/authorize/ what to do next (log
 * in, log in again, ask for consent) until it answers where to send the browser back.
 */
import type { Context } from 'hono';
import * as z from 'zod';
import { auditStatement } from '../audit/record';
import { issueAuthorizationRequest, verifyAuthorizationRequest, type AuthorizationRequest } from '../auth/oidc-tokens';
import { hashSecret, newSecret } from '../auth/random-secrets';
import { TokenError } from '../auth/tokens';
import { findClient, findUserAndConsent, saveConsent, storeCode, type OAuthClient } from '../db/oauth';
import { detail } from '../drf/errors';
import type { AppEnv, AuthUser } from '../env';
import { defineRoute } from '../http/route';
import {
  AUTHORIZATION_PARAMETERS,
  authorizationResponse,
  checkAuthorizationParameters,
  isRegisteredRedirect,
  readParameters,
  type UnsafeToRedirect,
} from '../oauth/authorize';
import { covers, SCOPES, storedScopes, SUPPORTED_SCOPES, type Scope } from '../oauth/scopes';

/** How long a code may wait for its exchange (RFC 9700 §4.5: short-lived; SPEC.md: at most 60 s). */
export const CODE_LIFETIME_MS = 60_000;

const LOCATION = { Location: 'Where the browser goes next.' };

/** OpenID Connect Discovery 1.0 §3: only what is really supported. */
function discovery(issuer: string) {
  return {
    issuer,
    authorization_endpoint: `${issuer}/oauth/authorize`,
    token_endpoint: `${issuer}/oauth/token`,
    userinfo_endpoint: `${issuer}/oauth/userinfo`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    end_session_endpoint: `${issuer}/oauth/end-session`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    scopes_supported: SUPPORTED_SCOPES,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    code_challenge_methods_supported: ['S256'],
    claims_supported: [
      'sub',
      'iss',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'nonce',
      'amr',
      'azp',
      'preferred_username',
      'email',
      'email_verified',
    ],
    prompt_values_supported: ['none', 'login', 'consent'],
    authorization_response_iss_parameter_supported: true,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    claims_parameter_supported: false,
  };
}

/** Our own page, for what must never go to an unverified redirect URI. */
const errorPage = (c: Context<AppEnv>, error: UnsafeToRedirect) =>
  c.redirect(`${c.get('settings').siteUrl}/app/authorize?error=${error}`, 302);

async function authorize(c: Context<AppEnv>) {
  const settings = c.get('settings');
  const { parameters, repeated } = readParameters(c.req.queries(), AUTHORIZATION_PARAMETERS);
  const client = parameters.client_id === undefined ? undefined : await findClient(c.get('db'), parameters.client_id);
  if (!client || repeated === 'client_id') return errorPage(c, 'unknown_client');
  const redirectUri = parameters.redirect_uri;
  if (
    redirectUri === undefined ||
    repeated === 'redirect_uri' ||
    !isRegisteredRedirect(client.redirectUris, redirectUri)
  ) {
    return errorPage(c, 'invalid_redirect_uri');
  }
  const back = (answer: Record<string, string | undefined>) =>
    c.redirect(authorizationResponse(redirectUri, settings.siteUrl, { ...answer, state: parameters.state }), 302);
  if (repeated !== undefined) {
    return back({ error: 'invalid_request', error_description: `${repeated} was sent more than once.` });
  }
  const request = checkAuthorizationParameters(parameters, client, redirectUri);
  if ('error' in request) return back({ error: request.error, error_description: request.description });
  const signed = await issueAuthorizationRequest(request, settings);
  return c.redirect(`${settings.siteUrl}/app/authorize?request=${signed}`, 302);
}

const stepInput = z.object({
  request: z.string({ error: 'This field is required.' }).max(8192),
  decision: z.enum(['allow', 'deny'], { error: '"allow" or "deny".' }).optional(),
});

const clientOf = (client: OAuthClient) => ({ client_id: client.clientId, name: client.name });

/** True when the login is too old for this request: `prompt=login` asks for one after it, `max_age` sets a bound. */
function needsFreshLogin(request: AuthorizationRequest, user: AuthUser, now: Date): boolean {
  const authTime = user.authentication.authTime;
  if (request.prompt === 'login' && authTime < request.issuedAt) return true;
  return request.maxAge !== undefined && Math.floor(now.getTime() / 1000) - authTime > request.maxAge;
}

/** Issues the code, remembering the consent when the user just gave it; answers the redirect. */
async function issueCode(
  c: Context<AppEnv>,
  request: AuthorizationRequest,
  client: OAuthClient,
  user: AuthUser,
  consented: Scope[] | undefined,
) {
  const db = c.get('db');
  const now = new Date();
  const code = newSecret();
  const consent = consented
    ? [
        saveConsent(db, { userId: user.id, clientId: client.clientId, scopes: consented.join(' '), now }),
        auditStatement(c, {
          kind: 'oauth.consent_given',
          actor: user,
          subject: user,
          details: { client_id: client.clientId, name: client.name, scopes: consented },
        }),
      ]
    : [];
  const stored = storeCode(
    db,
    {
      codeHash: await hashSecret(code),
      clientId: client.clientId,
      userId: user.id,
      redirectUri: request.redirectUri,
      scopes: request.scopes.join(' '),
      codeChallenge: request.codeChallenge,
      nonce: request.nonce ?? null,
      authTime: new Date(user.authentication.authTime * 1000),
      amr: user.authentication.amr.join(' '),
      expiresAt: new Date(now.getTime() + CODE_LIFETIME_MS),
    },
    now,
  );
  await db.batch([...stored, ...consent]);
  return redirectStep(c, request, client, { code });
}

function redirectStep(
  c: Context<AppEnv>,
  request: AuthorizationRequest,
  client: OAuthClient,
  answer: Record<string, string>,
) {
  const redirectTo = authorizationResponse(request.redirectUri, c.get('settings').siteUrl, {
    ...answer,
    state: request.state,
  });
  return c.json({ action: 'redirect', client: clientOf(client), redirect_to: redirectTo });
}

async function step(c: Context<AppEnv>, user: AuthUser | null, input: z.output<typeof stepInput>) {
  let request: AuthorizationRequest;
  try {
    request = await verifyAuthorizationRequest(input.request, c.get('settings'));
  } catch (error) {
    if (!(error instanceof TokenError)) throw error;
    throw detail(400, 'This sign-in request has expired or is not valid: go back to the app and try again.');
  }
  const client = await findClient(c.get('db'), request.clientId);
  if (!client || !isRegisteredRedirect(client.redirectUris, request.redirectUri)) {
    throw detail(400, 'This app is no longer registered.');
  }
  const refuse = (error: string, description: string) =>
    redirectStep(c, request, client, { error, error_description: description });
  if (input.decision === 'deny') return refuse('access_denied', 'The user did not allow the app.');
  const interactive = request.prompt !== 'none';
  const now = new Date();
  if (!user) {
    return interactive
      ? c.json({ action: 'login', client: clientOf(client) })
      : refuse('login_required', 'The user is not logged in.');
  }
  if (needsFreshLogin(request, user, now)) {
    return interactive
      ? c.json({ action: 'reauthenticate', client: clientOf(client) })
      : refuse('login_required', 'The login is older than the app allows.');
  }
  const { user: standing, consentedScopes } = await findUserAndConsent(c.get('db'), user.id, client.clientId);
  if (!standing?.isActive || standing.tokenVersion !== user.tokenVersion) {
    return interactive
      ? c.json({ action: 'login', client: clientOf(client) })
      : refuse('login_required', 'The user is not logged in.');
  }
  const remembered = consentedScopes !== undefined && covers(storedScopes(consentedScopes), request.scopes);
  if (input.decision === 'allow') {
    const allowed = [...new Set([...storedScopes(consentedScopes ?? ''), ...request.scopes])];
    return issueCode(
      c,
      request,
      client,
      user,
      SUPPORTED_SCOPES.filter((scope) => allowed.includes(scope)),
    );
  }
  if (remembered && request.prompt !== 'consent') return issueCode(c, request, client, user, undefined);
  if (!interactive) return refuse('consent_required', 'The user has not allowed the app yet.');
  return c.json({
    action: 'consent',
    client: clientOf(client),
    scopes: request.scopes.map((scope) => ({ scope, description: SCOPES[scope] })),
  });
}

export const oauthRoutes = [
  defineRoute({
    method: 'get',
    path: '/.well-known/openid-configuration',
    tag: 'oauth',
    summary: 'OpenID Connect discovery: the endpoints, and what the provider supports',
    auth: 'none',
    responses: { 200: 'OpenIdConfiguration' },
    handler: (c) => c.json(discovery(c.get('settings').siteUrl), 200, { 'Cache-Control': 'public, max-age=300' }),
  }),
  defineRoute({
    method: 'get',
    path: '/oauth/authorize/',
    tag: 'oauth',
    summary: "The authorization endpoint: an app's sign-in request, sent on to the consent page",
    description:
      'OAuth 2.1 / OpenID Connect: `response_type=code`, `client_id`, `redirect_uri` (exactly as registered; any port for a loopback one), `scope` with `openid`, `code_challenge` with `code_challenge_method=S256`, and optionally `state`, `nonce`, `prompt` (`none`, `login`, `consent`), `max_age`. An unknown client or redirect URI goes to the app with `?error=`; any other refusal goes back to the redirect URI with `error`, `state` and `iss`. A good request goes to /app/authorize with the request signed.',
    auth: 'none',
    responses: { 302: null },
    headers: { 302: LOCATION },
    handler: authorize,
  }),
  defineRoute({
    method: 'post',
    path: '/oauth/authorize/',
    tag: 'oauth',
    summary: "The consent page's next step for a signed sign-in request",
    description:
      "Send `request` (from /app/authorize?request=) with the user's access token when logged in, and `decision` once the user chose. A remembered consent covering the scopes skips the question (unless `prompt=consent`). `redirect` carries the code, or an error such as `access_denied`, `login_required` or `consent_required`.",
    auth: 'optional',
    body: stepInput,
    responses: { 200: 'AuthorizationStep' },
    handler: async (c, { user, body }) => step(c, user, await body()),
  }),
];

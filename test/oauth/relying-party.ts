/**
 * A relying party for the provider tests: panva's certified oauth4webapi, with the Worker as its
 * fetch, and the part of a browser and of our app's /app/authorize page in between (following the
 * redirect, asking POST /oauth/authorize/ for the next step with the user's token).
 */
import { env } from 'cloudflare:workers';
import * as oauth from 'oauth4webapi';
import { expect } from 'vitest';
import { getDb } from '../../src/db/client';
import { oauthClients } from '../../src/db/schema';
import { newClient } from '../../src/oauth/clients';
import { accessTokenFor, call, createUser, postJson, SITE_URL, uniqueName } from '../helpers';

/** The Worker, for any URL of SITE_URL. */
export const workerFetch = (url: string | URL | Request, init?: RequestInit) => {
  const request = new Request(url, init);
  const { pathname, search } = new URL(request.url);
  return call(`${pathname}${search}`, {
    method: request.method,
    headers: request.headers,
    body: request.method === 'GET' || request.method === 'HEAD' ? undefined : request.body,
  });
};

export const options = {
  [oauth.customFetch]: workerFetch as typeof fetch,
  // SITE_URL is http://localhost:8787 in the tests.
  [oauth.allowInsecureRequests]: true,
};

export async function discover(): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(SITE_URL);
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
}

export const REDIRECT_URI = 'https://rp.example/callback';

export interface TestClient {
  client: oauth.Client;
  secret: string | undefined;
  auth: oauth.ClientAuth;
  name: string;
}

/** A registered client: confidential (client_secret_basic unless `auth` says) or public. */
export async function registerClient({
  isPublic = false,
  redirectUris = [REDIRECT_URI],
  auth = 'basic',
}: { isPublic?: boolean; redirectUris?: string[]; auth?: 'basic' | 'post' } = {}): Promise<TestClient> {
  const name = uniqueName('app');
  const { row, secret } = await newClient({ name, redirectUris, isPublic });
  await getDb(env.DB).insert(oauthClients).values(row);
  const clientAuth =
    secret === undefined
      ? oauth.None()
      : auth === 'basic'
        ? oauth.ClientSecretBasic(secret)
        : oauth.ClientSecretPost(secret);
  return { client: { client_id: row.clientId }, secret, auth: clientAuth, name };
}

export interface AuthorizationAttempt {
  url: URL;
  state: string;
  nonce: string;
  verifier: string;
}

/** The authorization request a client sends the browser to; `extra` adds or overrides parameters. */
export async function authorizationRequest(
  as: oauth.AuthorizationServer,
  { client }: TestClient,
  extra: Record<string, string | null> = {},
): Promise<AuthorizationAttempt> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const url = new URL(as.authorization_endpoint!);
  const parameters: Record<string, string | null> = {
    client_id: client.client_id,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: 'openid profile email',
    state,
    nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...extra,
  };
  for (const [name, value] of Object.entries(parameters)) if (value !== null) url.searchParams.set(name, value);
  return { url, state, nonce, verifier };
}

/** Follows GET /oauth/authorize as a browser does: where it lands. */
export async function follow(url: URL): Promise<URL> {
  const response = await workerFetch(url);
  expect(response.status, await response.clone().text()).toBe(302);
  return new URL(response.headers.get('Location')!);
}

export interface Step {
  action: 'login' | 'reauthenticate' | 'consent' | 'redirect';
  client: { client_id: string; name: string };
  scopes?: { scope: string; description: string }[];
  redirect_to?: string;
}

/** What /app/authorize does: asks for the next step of the signed request, as the user of `token`. */
export async function nextStep(request: string, token: string | undefined, decision?: 'allow' | 'deny') {
  const response = await postJson(
    '/oauth/authorize/',
    { request, ...(decision ? { decision } : {}) },
    token ? { Authorization: `Bearer ${token}` } : {},
  );
  return { status: response.status, body: (await response.json()) as Step & Record<string, unknown> };
}

/** The signed request that GET /oauth/authorize sends to the app's page. */
export async function signedRequest(attempt: AuthorizationAttempt): Promise<string> {
  const landing = await follow(attempt.url);
  expect(landing.pathname).toBe('/app/authorize');
  return landing.searchParams.get('request')!;
}

/**
 * A user signs in through the consent page: GET /oauth/authorize, then Allow (or a remembered
 * consent). Answers the callback URL the browser comes back to.
 */
export async function signIn(attempt: AuthorizationAttempt, token: string): Promise<URL> {
  return signInWith(await signedRequest(attempt), token);
}

/** signIn for a signed request the page already holds (as when the user logs in again after it came). */
export async function signInWith(request: string, token: string): Promise<URL> {
  let step = await nextStep(request, token);
  if (step.body.action === 'consent') step = await nextStep(request, token, 'allow');
  expect(step.body.action, JSON.stringify(step.body)).toBe('redirect');
  return new URL(step.body.redirect_to!);
}

/** The code exchange as the library does it, with its checks of the token response and ID token. */
export async function exchange(
  as: oauth.AuthorizationServer,
  rp: TestClient,
  attempt: AuthorizationAttempt,
  callback: URL,
  { maxAge }: { maxAge?: number } = {},
) {
  const parameters = oauth.validateAuthResponse(as, rp.client, callback, attempt.state);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    rp.client,
    rp.auth,
    parameters,
    REDIRECT_URI,
    attempt.verifier,
    options,
  );
  return oauth.processAuthorizationCodeResponse(as, rp.client, response, {
    expectedNonce: attempt.nonce,
    requireIdToken: true,
    ...(maxAge === undefined ? {} : { maxAge }),
  });
}

/** A raw POST of a form to the token endpoint, for the requests no library would send. */
export function postForm(path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  return call(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

/** A user, and the access token our app holds for them (their session's). */
export async function signedInUser(userOptions: Parameters<typeof createUser>[0] = {}) {
  const user = await createUser(userOptions);
  return { user, token: await accessTokenFor(user) };
}

/** A whole sign-in: the tokens a client holds at the end. */
export async function tokensFor(
  scope = 'openid profile email',
  rp?: TestClient,
  userOptions: Parameters<typeof createUser>[0] = {},
) {
  const as = await discover();
  const client = rp ?? (await registerClient());
  const { user, token } = await signedInUser(userOptions);
  const attempt = await authorizationRequest(as, client, { scope });
  const tokens = await exchange(as, client, attempt, await signIn(attempt, token));
  return { as, client, user, token, tokens };
}

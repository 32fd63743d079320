/**
 * A real OpenID Connect provider for the external sign-in tests: panva's oidc-provider (its
 * development login form: any username, any password), on a loopback port, started in Node before
 * the tests and closed after. A second one, `rogue`, signs its ID tokens with its own keys but
 * publishes the first one's JWKS in its discovery document: an ID token signed by another key.
 *
 * Accounts: any login; the email is `<login>@example.com`, verified unless the login starts with
 * `unverified`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import type { TestProject } from 'vitest/node';
import { freePorts } from '../../scripts/free-port.ts';
import { CLIENT, GITHUB_CLIENT } from './provider-client.ts';

/** SITE_URL of the tests (wrangler.toml): where our callbacks are. */
const SITE_URL = 'http://localhost:8787';

async function newProvider(issuer: string, siteUrl: string, providerIds: string[]) {
  // Keys of its own: two providers with oidc-provider's development keys would share them.
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  // Its warnings about development keys and the login form are what these tests want: not shown.
  const warn = console.warn;
  console.warn = () => undefined;
  const provider = new Provider(issuer, {
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: issuer, alg: 'RS256', use: 'sig' }] },
    clients: [
      {
        ...CLIENT,
        redirect_uris: providerIds.map((id) => `${siteUrl}/auth/external/${id}/callback`),
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({
        sub: id,
        email: `${id}@example.com`,
        email_verified: !id.startsWith('unverified'),
        preferred_username: id,
      }),
    }),
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['preferred_username'] },
    // The email and username in the ID token itself, as Google and most providers put them.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 3600, IdToken: 600, Interaction: 600, Session: 3600 },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['oidc-provider cookies for the tests'] },
  });
  console.warn = warn;
  return provider;
}

/**
 * A server shaped like GitHub's OAuth and REST APIs (the parts we use): the authorize page signs in
 * the `login` its URL names at once; the token endpoint checks the client, the code and PKCE; the
 * API answers the user and their emails (the primary one verified unless the login starts with
 * `unverified`).
 */
function gitHubLike(): (request: IncomingMessage, response: ServerResponse) => void {
  const codes = new Map<string, { login: string; challenge: string; redirectUri: string }>();
  const tokens = new Map<string, string>();
  const json = (response: ServerResponse, status: number, body: unknown) =>
    response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  const idOf = (login: string) => [...login].reduce((id, char) => (id * 31 + char.charCodeAt(0)) % 1_000_000_007, 7);
  return (request, response) => {
    const url = new URL(request.url ?? '/', 'http://github.test');
    if (url.pathname === '/login/oauth/authorize') {
      const code = randomUUID();
      const redirectUri = url.searchParams.get('redirect_uri')!;
      codes.set(code, {
        login: url.searchParams.get('login')!,
        challenge: url.searchParams.get('code_challenge')!,
        redirectUri,
      });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state')!);
      return void response.writeHead(302, { Location: back.href }).end();
    }
    if (url.pathname === '/login/oauth/access_token' && request.method === 'POST') {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const form = new URLSearchParams(body);
        const grant = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const challenge = createHash('sha256')
          .update(form.get('code_verifier') ?? '')
          .digest('base64url');
        // GitHub answers a refused code with 200 and an error.
        if (
          form.get('client_id') !== GITHUB_CLIENT.client_id ||
          form.get('client_secret') !== GITHUB_CLIENT.client_secret ||
          !grant ||
          grant.challenge !== challenge ||
          grant.redirectUri !== form.get('redirect_uri')
        ) {
          return json(response, 200, { error: 'bad_verification_code' });
        }
        const token = randomUUID();
        tokens.set(token, grant.login);
        json(response, 200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
      });
      return;
    }
    const login = tokens.get((request.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (!login) return json(response, 401, { message: 'Bad credentials' });
    if (url.pathname === '/api/v3/user') return json(response, 200, { id: idOf(login), login });
    if (url.pathname === '/api/v3/user/emails') {
      return json(response, 200, [
        { email: `${login}@users.noreply.example.com`, primary: false, verified: true },
        { email: `${login}@example.com`, primary: true, verified: !login.startsWith('unverified') },
      ]);
    }
    json(response, 404, { message: 'Not Found' });
  };
}

function listen(port: number, handler: (request: IncomingMessage, response: ServerResponse) => void) {
  const server = createServer(handler);
  return new Promise<typeof server>((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

/** The three servers, for the API at `siteUrl` (whose callbacks they accept); `close` stops them. */
export async function startTestProviders(siteUrl = SITE_URL) {
  const [port, roguePort, gitHubPort] = (await freePorts(3)) as [number, number, number];
  const issuer = `http://127.0.0.1:${port}`;
  const rogueIssuer = `http://127.0.0.1:${roguePort}`;
  const provider = await newProvider(issuer, siteUrl, ['local']);
  const rogue = await newProvider(rogueIssuer, siteUrl, ['rogue']);
  const servers = [
    await listen(port, provider.callback()),
    await listen(roguePort, (request, response) => {
      const own = request.headers['x-own'] === '1';
      if (request.url !== '/.well-known/openid-configuration' || own) return rogue.callback()(request, response);
      const read = async (url: string, headers: Record<string, string> = {}) =>
        (await (await fetch(url, { headers })).json()) as Record<string, unknown>;
      void Promise.all([
        read(`${rogueIssuer}/.well-known/openid-configuration`, { 'x-own': '1' }),
        read(`${issuer}/.well-known/openid-configuration`),
      ]).then(([metadata, real]) => {
        response.writeHead(200, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify({ ...metadata, jwks_uri: real.jwks_uri }));
      });
    }),
    await listen(gitHubPort, gitHubLike()),
  ];
  return {
    issuer,
    rogueIssuer,
    gitHubUrl: `http://127.0.0.1:${gitHubPort}`,
    close: () => servers.forEach((server) => server.close()),
  };
}

export default async function setup(project: TestProject) {
  const providers = await startTestProviders();
  project.provide('externalIssuer', providers.issuer);
  project.provide('gitHubUrl', providers.gitHubUrl);
  project.provide('rogueIssuer', providers.rogueIssuer);
  return providers.close;
}

declare module 'vitest' {
  export interface ProvidedContext {
    externalIssuer: string;
    rogueIssuer: string;
    gitHubUrl: string;
  }
}

/**
 * The OpenID Connect provider driven by a certified relying-party library (oauth4webapi) through
 * the Worker: discovery, the code flow with PKCE, the ID token, userinfo, refresh rotation and
 * reuse, revocation, prompt and max_age, and every refusal RFC 9700 asks for.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { createLocalJWKSet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import { getDb } from '../../src/db/client';
import { auditEvents, oauthCodes, oauthGrants, users } from '../../src/db/schema';
import { hashSecret } from '../../src/auth/random-secrets';
import { accessTokenFor, call, createUser, decodeJwt, SITE_URL } from '../helpers';
import {
  authorizationRequest,
  discover,
  exchange,
  follow,
  nextStep,
  options,
  postForm,
  REDIRECT_URI,
  registerClient,
  signedRequest,
  signIn,
  signInWith,
  signedInUser,
  tokensFor,
} from './relying-party';

const db = () => getDb(env.DB);

describe('discovery', () => {
  it('names every endpoint and only what is supported', async () => {
    const as = await discover();
    expect(as).toMatchObject({
      issuer: SITE_URL,
      authorization_endpoint: `${SITE_URL}/oauth/authorize`,
      token_endpoint: `${SITE_URL}/oauth/token`,
      userinfo_endpoint: `${SITE_URL}/oauth/userinfo`,
      revocation_endpoint: `${SITE_URL}/oauth/revoke`,
      jwks_uri: `${SITE_URL}/.well-known/jwks.json`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      id_token_signing_alg_values_supported: ['RS256'],
      authorization_response_iss_parameter_supported: true,
    });
    expect(as.scopes_supported).toEqual(
      expect.arrayContaining(['openid', 'profile', 'email', 'offline_access', 'tasks.read', 'tasks.write']),
    );
  });
});

describe('the code flow', () => {
  it('signs a user in to a confidential client: an ID token the library accepts, signed by a published RS256 key', async () => {
    const { as, client, user, tokens } = await tokensFor();
    const claims = oauth.getValidatedIdTokenClaims(tokens)!;
    expect(claims).toMatchObject({
      iss: SITE_URL,
      sub: String(user.id),
      aud: client.client.client_id,
      preferred_username: user.username,
      email: expect.any(String),
      email_verified: true,
      amr: ['pwd'],
    });
    expect(claims.auth_time).toEqual(expect.any(Number));
    const jwks = (await (await call('/.well-known/jwks.json')).json()) as Parameters<typeof createLocalJWKSet>[0];
    const verified = await jwtVerify(tokens.id_token!, createLocalJWKSet(jwks), {
      algorithms: ['RS256'],
      issuer: as.issuer,
      audience: client.client.client_id,
    });
    expect(verified.protectedHeader.alg).toBe('RS256');
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.refresh_token).toBeUndefined();
  });

  it('carries the login of the session: a second factor shows in amr and auth_time', async () => {
    const as = await discover();
    const client = await registerClient();
    const user = await createUser();
    const authTime = Math.floor(Date.now() / 1000) - 120;
    const token = await accessTokenFor(user, { authentication: { amr: ['pwd', 'otp', 'mfa'], authTime } });
    const attempt = await authorizationRequest(as, client);
    const tokens = await exchange(as, client, attempt, await signIn(attempt, token));
    expect(oauth.getValidatedIdTokenClaims(tokens)).toMatchObject({ amr: ['pwd', 'otp', 'mfa'], auth_time: authTime });
  });

  it('works for a public client (PKCE alone) and for client_secret_post', async () => {
    for (const rp of [await registerClient({ isPublic: true }), await registerClient({ auth: 'post' })]) {
      const { tokens } = await tokensFor('openid', rp);
      expect(oauth.getValidatedIdTokenClaims(tokens)!.sub).toMatch(/^\d+$/);
    }
  });

  it('issues an RFC 9068 access token that userinfo answers, with claims by scope', async () => {
    const { as, client, user, tokens } = await tokensFor('openid email');
    expect(decodeJwt(tokens.access_token).header).toMatchObject({
      typ: 'at+jwt',
      alg: 'RS256',
    });
    const info = await oauth.processUserInfoResponse(
      as,
      client.client,
      String(user.id),
      await oauth.userInfoRequest(as, client.client, tokens.access_token, options),
    );
    expect(info).toEqual({ sub: String(user.id), email: expect.any(String), email_verified: true });
    expect(info).not.toHaveProperty('preferred_username');
  });

  it('remembers a consent: the next sign-in asks nothing, unless prompt=consent', async () => {
    const as = await discover();
    const client = await registerClient();
    const { token } = await signedInUser();
    const first = await authorizationRequest(as, client);
    await exchange(as, client, first, await signIn(first, token));
    const again = await authorizationRequest(as, client);
    expect((await nextStep(await signedRequest(again), token)).body.action).toBe('redirect');
    const asked = await authorizationRequest(as, client, { prompt: 'consent' });
    const step = await nextStep(await signedRequest(asked), token);
    expect(step.body.action).toBe('consent');
    expect(step.body.client.name).toBe(client.name);
    const wider = await authorizationRequest(as, client, { scope: 'openid tasks.read' });
    const widerStep = await nextStep(await signedRequest(wider), token);
    expect(widerStep.body.action).toBe('consent');
    expect(widerStep.body.scopes).toEqual([
      { scope: 'openid', description: expect.any(String) },
      { scope: 'tasks.read', description: 'Read your tasks' },
    ]);
  });

  it('records the consent in the audit log', async () => {
    const { client, user } = await tokensFor('openid profile');
    const events = await db().select().from(auditEvents).where(eq(auditEvents.subjectId, user.id));
    expect(events.map((event) => [event.kind, JSON.parse(event.details)])).toContainEqual([
      'oauth.consent_given',
      { client_id: client.client.client_id, name: client.name, scopes: ['openid', 'profile'] },
    ]);
  });

  it('asks the page to log in without a token, and sends the user back with access_denied on Deny', async () => {
    const as = await discover();
    const client = await registerClient();
    const attempt = await authorizationRequest(as, client);
    const request = await signedRequest(attempt);
    expect((await nextStep(request, undefined)).body.action).toBe('login');
    const denied = await nextStep(request, (await signedInUser()).token, 'deny');
    const callback = new URL(denied.body.redirect_to!);
    expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
    expect(() => oauth.validateAuthResponse(as, client.client, callback, attempt.state)).toThrow(
      expect.objectContaining({ error: 'access_denied' }),
    );
    expect(callback.searchParams.get('iss')).toBe(SITE_URL);
  });

  it('refuses a tampered or foreign signed request', async () => {
    const as = await discover();
    const attempt = await authorizationRequest(as, await registerClient());
    const request = await signedRequest(attempt);
    const [header, , signature] = request.split('.');
    const claims = decodeJwt(request).payload;
    const forged = btoa(JSON.stringify({ ...claims, redirect_uri: 'https://evil.example/cb' }))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
    const { token } = await signedInUser();
    for (const bad of [`${header}.${forged}.${signature}`, token]) {
      const step = await nextStep(bad, token);
      expect(step.status).toBe(400);
      expect(step.body).toEqual({ detail: expect.stringMatching(/expired or is not valid/) });
    }
  });
});

describe('prompt and max_age', () => {
  it('prompt=none: a code with a session and a remembered consent; login_required or consent_required otherwise', async () => {
    const as = await discover();
    const client = await registerClient();
    const { token } = await signedInUser();
    const redirected = async (accessToken: string | undefined) => {
      const attempt = await authorizationRequest(as, client, { prompt: 'none' });
      const step = await nextStep(await signedRequest(attempt), accessToken);
      expect(step.body.action).toBe('redirect');
      return { attempt, callback: new URL(step.body.redirect_to!) };
    };
    expect((await redirected(undefined)).callback.searchParams.get('error')).toBe('login_required');
    expect((await redirected(token)).callback.searchParams.get('error')).toBe('consent_required');
    const first = await authorizationRequest(as, client);
    await exchange(as, client, first, await signIn(first, token));
    const { attempt, callback } = await redirected(token);
    const tokens = await exchange(as, client, attempt, callback);
    expect(oauth.getValidatedIdTokenClaims(tokens)!.nonce).toBe(attempt.nonce);
  });

  it('prompt=login and max_age ask for a fresh login; a fresh one satisfies them, and the ID token says when it was', async () => {
    const as = await discover();
    const client = await registerClient();
    const user = await createUser();
    const longAgo = Math.floor(Date.now() / 1000) - 3600;
    const oldToken = await accessTokenFor(user, { authentication: { amr: ['pwd'], authTime: longAgo } });
    for (const extra of [{ prompt: 'login' }, { max_age: '60' }] as Record<string, string>[]) {
      const attempt = await authorizationRequest(as, client, extra);
      const request = await signedRequest(attempt);
      expect((await nextStep(request, oldToken)).body.action).toBe('reauthenticate');
      expect((await nextStep(request, oldToken, 'allow')).body.action).toBe('reauthenticate');
    }
    const silent = await authorizationRequest(as, client, { prompt: 'none', max_age: '60' });
    const refused = await nextStep(await signedRequest(silent), oldToken);
    expect(new URL(refused.body.redirect_to!).searchParams.get('error')).toBe('login_required');
    // Logging in again after the request (the page's reauthenticate) gives a token with a fresh
    // auth_time. A login made before the request, even in the same test, would not satisfy prompt=login.
    const attempt = await authorizationRequest(as, client, { prompt: 'login', max_age: '60' });
    const request = await signedRequest(attempt);
    const fresh = await accessTokenFor(user);
    const tokens = await exchange(as, client, attempt, await signInWith(request, fresh), { maxAge: 60 });
    expect(oauth.getValidatedIdTokenClaims(tokens)!.auth_time).toBeGreaterThan(longAgo);
  });
});

describe('refused authorization requests', () => {
  it('shows an unknown client or an unregistered redirect URI on our page, never redirecting to it', async () => {
    const as = await discover();
    const client = await registerClient({ redirectUris: [REDIRECT_URI, 'http://127.0.0.1/cb'] });
    const cases: [Record<string, string | null>, string][] = [
      [{ client_id: 'no-such-client' }, 'unknown_client'],
      [{ client_id: null }, 'unknown_client'],
      [{ redirect_uri: 'https://evil.example/callback' }, 'invalid_redirect_uri'],
      [{ redirect_uri: `${REDIRECT_URI}/more` }, 'invalid_redirect_uri'],
      [{ redirect_uri: `${REDIRECT_URI}?x=1` }, 'invalid_redirect_uri'],
      [{ redirect_uri: 'http://127.0.0.1:5000/other' }, 'invalid_redirect_uri'],
      [{ redirect_uri: null }, 'invalid_redirect_uri'],
    ];
    for (const [extra, error] of cases) {
      const landing = await follow((await authorizationRequest(as, client, extra)).url);
      expect(`${landing.origin}${landing.pathname}`, JSON.stringify(extra)).toBe(`${SITE_URL}/app/authorize`);
      expect(landing.searchParams.get('error')).toBe(error);
    }
  });

  it('takes a loopback redirect URI on any port (RFC 8252)', async () => {
    const as = await discover();
    const client = await registerClient({ isPublic: true, redirectUris: ['http://127.0.0.1/cb'] });
    const attempt = await authorizationRequest(as, client, { redirect_uri: 'http://127.0.0.1:53117/cb' });
    const landing = await follow(attempt.url);
    expect(landing.pathname).toBe('/app/authorize');
  });

  it('sends every other bad parameter back with error, state and iss', async () => {
    const as = await discover();
    const client = await registerClient();
    const cases: [Record<string, string | null>, string][] = [
      [{ code_challenge: null, code_challenge_method: null }, 'invalid_request'],
      [{ code_challenge_method: 'plain' }, 'invalid_request'],
      [{ code_challenge_method: null }, 'invalid_request'],
      [{ code_challenge: 'short' }, 'invalid_request'],
      [{ response_type: 'token' }, 'unsupported_response_type'],
      [{ response_type: 'code id_token' }, 'unsupported_response_type'],
      [{ scope: 'profile' }, 'invalid_scope'],
      [{ scope: 'openid admin' }, 'invalid_scope'],
      [{ prompt: 'none login' }, 'invalid_request'],
      [{ max_age: '-1' }, 'invalid_request'],
      [{ response_mode: 'fragment' }, 'invalid_request'],
      [{ request: 'eyJ.x.y' }, 'request_not_supported'],
    ];
    for (const [extra, error] of cases) {
      const attempt = await authorizationRequest(as, client, extra);
      const callback = await follow(attempt.url);
      expect(`${callback.origin}${callback.pathname}`, JSON.stringify(extra)).toBe(REDIRECT_URI);
      expect(callback.searchParams.get('state')).toBe(attempt.state);
      expect(() => oauth.validateAuthResponse(as, client.client, callback, attempt.state)).toThrow(
        expect.objectContaining({ error }),
      );
    }
    const missing = await authorizationRequest(as, client, { code_challenge: null });
    expect((await follow(missing.url)).searchParams.get('error_description')).toBe(
      'PKCE is required: send code_challenge.',
    );
    const repeated = await authorizationRequest(as, client);
    repeated.url.searchParams.append('scope', 'openid');
    expect((await follow(repeated.url)).searchParams.get('error')).toBe('invalid_request');
  });
});

describe('refused code exchanges', () => {
  async function codeFor(rp?: Awaited<ReturnType<typeof registerClient>>) {
    const as = await discover();
    const client = rp ?? (await registerClient());
    const { token } = await signedInUser();
    const attempt = await authorizationRequest(as, client, { scope: 'openid offline_access' });
    const callback = await signIn(attempt, token);
    return { as, client, attempt, callback, code: callback.searchParams.get('code')! };
  }

  const exchangeForm = (client: { client: { client_id: string }; secret?: string }, form: Record<string, string>) =>
    postForm(
      '/oauth/token',
      { grant_type: 'authorization_code', redirect_uri: REDIRECT_URI, ...form },
      {
        Authorization: `Basic ${btoa(`${client.client.client_id}:${client.secret}`)}`,
      },
    );

  it('a replayed code fails, and revokes what its first exchange issued', async () => {
    const { as, client, attempt, callback } = await codeFor();
    const tokens = await exchange(as, client, attempt, callback);
    const replay = await exchangeForm(client, {
      code: callback.searchParams.get('code')!,
      code_verifier: attempt.verifier,
    });
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: 'invalid_grant' });
    const userinfo = await oauth.userInfoRequest(as, client.client, tokens.access_token, options);
    expect(userinfo.status).toBe(401);
    const refreshed = await oauth.refreshTokenGrantRequest(
      as,
      client.client,
      client.auth,
      tokens.refresh_token!,
      options,
    );
    expect(refreshed.status).toBe(400);
  });

  it("refuses another client's code, a wrong verifier, a wrong redirect URI, an expired code", async () => {
    const { client, attempt, code } = await codeFor();
    const other = await registerClient();
    const refusals = [
      await exchangeForm(other, { code, code_verifier: attempt.verifier }),
      await exchangeForm(client, { code, code_verifier: oauth.generateRandomCodeVerifier() }),
      await exchangeForm(client, { code, code_verifier: attempt.verifier, redirect_uri: `${REDIRECT_URI}x` }),
      await exchangeForm(client, { code, code_verifier: 'too-short' }),
    ];
    for (const response of refusals) {
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_grant' });
    }
    // Still unused: the right exchange works.
    expect((await exchangeForm(client, { code, code_verifier: attempt.verifier })).status).toBe(200);
    const late = await codeFor();
    await db()
      .update(oauthCodes)
      .set({ expiresAt: new Date(Date.now() - 1) })
      .where(eq(oauthCodes.codeHash, await hashSecret(late.code)));
    const expired = await exchangeForm(late.client, { code: late.code, code_verifier: late.attempt.verifier });
    expect(await expired.json()).toMatchObject({ error: 'invalid_grant', error_description: 'The code has expired.' });
  });

  it('authenticates the client: a wrong, missing or extra secret is invalid_client', async () => {
    const { client, attempt, code } = await codeFor();
    const publicClient = await registerClient({ isPublic: true });
    const form = {
      grant_type: 'authorization_code',
      redirect_uri: REDIRECT_URI,
      code,
      code_verifier: attempt.verifier,
    };
    const refusals = [
      await postForm('/oauth/token', form, { Authorization: `Basic ${btoa(`${client.client.client_id}:wrong`)}` }),
      await postForm('/oauth/token', { ...form, client_id: client.client.client_id }),
      await postForm('/oauth/token', { ...form, client_id: client.client.client_id, client_secret: 'wrong' }),
      await postForm('/oauth/token', { ...form, client_id: publicClient.client.client_id, client_secret: 'x' }),
      await postForm('/oauth/token', form),
      await postForm('/oauth/token', form, { Authorization: 'Basic !!!' }),
    ];
    for (const response of refusals) {
      expect(response.status).toBe(401);
      expect(response.headers.get('WWW-Authenticate')).toMatch(/^Basic/);
      expect(await response.json()).toMatchObject({ error: 'invalid_client' });
    }
  });

  it('answers malformed token requests with invalid_request or unsupported_grant_type, never a 5xx', async () => {
    const { client } = await codeFor();
    const basic = { Authorization: `Basic ${btoa(`${client.client.client_id}:${client.secret}`)}` };
    const json = await call('/oauth/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...basic },
      body: '{"grant_type":"authorization_code"}',
    });
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({ error: 'invalid_request' });
    expect(await (await postForm('/oauth/token', { grant_type: 'password' }, basic)).json()).toMatchObject({
      error: 'unsupported_grant_type',
    });
    expect(await (await postForm('/oauth/token', { grant_type: 'authorization_code' }, basic)).json()).toMatchObject({
      error: 'invalid_request',
    });
    const twice = await call('/oauth/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...basic },
      body: 'grant_type=refresh_token&refresh_token=a&refresh_token=b',
    });
    expect(await twice.json()).toMatchObject({ error: 'invalid_request' });
  });
});

describe('refresh tokens', () => {
  it('only with offline_access; each rotates, and a used one presented again ends the grant', async () => {
    expect((await tokensFor('openid')).tokens.refresh_token).toBeUndefined();
    const { as, client, user, tokens } = await tokensFor('openid offline_access');
    const first = tokens.refresh_token!;
    const second = await oauth.processRefreshTokenResponse(
      as,
      client.client,
      await oauth.refreshTokenGrantRequest(as, client.client, client.auth, first, options),
    );
    expect(second.refresh_token).toBeDefined();
    expect(second.refresh_token).not.toBe(first);
    expect(oauth.getValidatedIdTokenClaims(second)!.sub).toBe(String(user.id));
    const reuse = await oauth.refreshTokenGrantRequest(as, client.client, client.auth, first, options);
    expect(reuse.status).toBe(400);
    expect(await reuse.json()).toMatchObject({ error: 'invalid_grant' });
    // The whole grant ended: the current refresh token and the access token too.
    expect(
      (await oauth.refreshTokenGrantRequest(as, client.client, client.auth, second.refresh_token!, options)).status,
    ).toBe(400);
    expect((await oauth.userInfoRequest(as, client.client, second.access_token, options)).status).toBe(401);
  });

  it("refuses another client's refresh token, and a scope wider than the grant", async () => {
    const { as, client, tokens } = await tokensFor('openid profile offline_access');
    const other = await registerClient();
    const stolen = await oauth.refreshTokenGrantRequest(as, other.client, other.auth, tokens.refresh_token!, options);
    expect(await stolen.json()).toMatchObject({ error: 'invalid_grant' });
    const wider = await oauth.refreshTokenGrantRequest(as, client.client, client.auth, tokens.refresh_token!, {
      ...options,
      additionalParameters: { scope: 'openid email' },
    });
    expect(await wider.json()).toMatchObject({ error: 'invalid_scope' });
    const narrower = await oauth.processRefreshTokenResponse(
      as,
      client.client,
      await oauth.refreshTokenGrantRequest(as, client.client, client.auth, tokens.refresh_token!, {
        ...options,
        additionalParameters: { scope: 'openid' },
      }),
    );
    expect(narrower.scope).toBe('openid');
  });

  it('ends with a password change or deactivation (the token version), as sessions do', async () => {
    const { as, client, user, tokens } = await tokensFor('openid offline_access');
    await db()
      .update(users)
      .set({ tokenVersion: user.tokenVersion + 1 })
      .where(eq(users.id, user.id));
    expect(
      (await oauth.refreshTokenGrantRequest(as, client.client, client.auth, tokens.refresh_token!, options)).status,
    ).toBe(400);
    expect((await oauth.userInfoRequest(as, client.client, tokens.access_token, options)).status).toBe(401);
  });
});

describe('revocation (RFC 7009)', () => {
  it('revoking a refresh token or an access token ends the grant; an unknown token is still 200', async () => {
    for (const which of ['refresh_token', 'access_token'] as const) {
      const { as, client, tokens } = await tokensFor('openid offline_access');
      await oauth.processRevocationResponse(
        await oauth.revocationRequest(as, client.client, client.auth, tokens[which]!, options),
      );
      expect(await db().select().from(oauthGrants).where(eq(oauthGrants.clientId, client.client.client_id))).toEqual(
        [],
      );
      expect((await oauth.userInfoRequest(as, client.client, tokens.access_token, options)).status).toBe(401);
    }
    const as = await discover();
    const client = await registerClient();
    const unknown = await oauth.revocationRequest(as, client.client, client.auth, 'not-a-token', options);
    expect(unknown.status).toBe(200);
  });

  it("never revokes another client's token", async () => {
    const { as, client, tokens } = await tokensFor('openid offline_access');
    const other = await registerClient();
    for (const token of [tokens.refresh_token!, tokens.access_token]) {
      expect((await oauth.revocationRequest(as, other.client, other.auth, token, options)).status).toBe(200);
    }
    expect((await oauth.userInfoRequest(as, client.client, tokens.access_token, options)).status).toBe(200);
  });
});

describe('from a single-page app of another origin', () => {
  it('the token, userinfo, revocation and discovery endpoints answer CORS for any origin, without cookies', async () => {
    for (const path of ['/oauth/token', '/oauth/userinfo/', '/oauth/revoke', '/.well-known/openid-configuration']) {
      const preflight = await call(path, {
        method: 'OPTIONS',
        headers: {
          Origin: 'https://spa.example',
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'authorization, content-type',
        },
      });
      expect(preflight.status, path).toBe(204);
      expect(preflight.headers.get('Access-Control-Allow-Origin')).toBe('*');
      expect(preflight.headers.get('Access-Control-Allow-Credentials')).toBeNull();
    }
    const { tokens } = await tokensFor('openid');
    const info = await call('/oauth/userinfo', {
      headers: { Origin: 'https://spa.example', Authorization: `Bearer ${tokens.access_token}` },
    });
    expect(info.status).toBe(200);
    expect(info.headers.get('Access-Control-Allow-Origin')).toBe('*');
    // The authorization endpoint is a navigation, and the rest of the API keeps CORS_ALLOWED_ORIGINS.
    const tasks = await call('/tasks/', { headers: { Origin: 'https://spa.example' } });
    expect(tasks.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });
});

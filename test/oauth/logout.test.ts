/**
 * RP-initiated logout: GET /oauth/end-session sends the browser to the app's logout page with a
 * signed request, or with an error when the app's hint or return URI does not check out.
 */
import { describe, expect, it } from 'vitest';
import { issueIdToken } from '../../src/auth/oidc-tokens';
import { postJson, settings, SITE_URL } from '../helpers';
import { follow, REDIRECT_URI, registerClient, tokensFor } from './relying-party';

const endSession = (parameters: Record<string, string>) =>
  follow(new URL(`${SITE_URL}/oauth/end-session?${new URLSearchParams(parameters)}`));

async function confirm(landing: URL) {
  expect(`${landing.origin}${landing.pathname}`).toBe(`${SITE_URL}/app/logout`);
  const response = await postJson('/oauth/end-session/confirm/', { request: landing.searchParams.get('request') });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('GET /oauth/end-session', () => {
  it('with an ID token hint and a registered URI: the logout page, then back to the app with state', async () => {
    const { client, tokens } = await tokensFor('openid');
    const landing = await endSession({
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: REDIRECT_URI,
      state: 'bye-1',
    });
    expect(await confirm(landing)).toEqual({
      status: 200,
      body: { client_name: client.name, redirect_to: `${REDIRECT_URI}?state=bye-1` },
    });
  });

  it('takes an expired ID token as the hint, and client_id instead of a hint', async () => {
    const client = await registerClient();
    const yesterday = new Date(Date.now() - 24 * 3600 * 1000);
    const expired = await issueIdToken(
      {
        user: { id: 1, username: 'x', email: 'x@example.com', emailVerified: true },
        clientId: client.client.client_id,
        scopes: ['openid'],
        nonce: null,
        authentication: { amr: ['pwd'], authTime: Math.floor(yesterday.getTime() / 1000) },
      },
      settings(),
      yesterday,
    );
    const hints: Record<string, string>[] = [
      { id_token_hint: expired, post_logout_redirect_uri: REDIRECT_URI },
      { client_id: client.client.client_id, post_logout_redirect_uri: REDIRECT_URI },
    ];
    for (const parameters of hints) {
      expect((await confirm(await endSession(parameters))).body.redirect_to).toBe(REDIRECT_URI);
    }
  });

  it('without anything: the logout page, staying there', async () => {
    expect(await confirm(await endSession({}))).toEqual({
      status: 200,
      body: { client_name: null, redirect_to: null },
    });
  });

  it('never sends the browser to a URI the client did not register, nor on a bad or mismatched hint', async () => {
    const { tokens } = await tokensFor('openid');
    const other = await registerClient();
    const cases: Record<string, string>[] = [
      { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'https://evil.example/' },
      { post_logout_redirect_uri: REDIRECT_URI },
      { client_id: 'no-such-client', post_logout_redirect_uri: REDIRECT_URI },
      { id_token_hint: 'not.a.token', post_logout_redirect_uri: REDIRECT_URI },
      { id_token_hint: tokens.access_token, post_logout_redirect_uri: REDIRECT_URI },
      { id_token_hint: tokens.id_token!, client_id: other.client.client_id, post_logout_redirect_uri: REDIRECT_URI },
    ];
    for (const parameters of cases) {
      const landing = await endSession(parameters);
      expect(`${landing.origin}${landing.pathname}${landing.search}`, JSON.stringify(parameters)).toBe(
        `${SITE_URL}/app/logout?error=invalid_logout_request`,
      );
    }
  });

  it('the confirm step refuses a request it did not sign', async () => {
    const { tokens } = await tokensFor('openid');
    for (const request of [tokens.id_token!, 'x.y.z']) {
      const response = await postJson('/oauth/end-session/confirm/', { request });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ detail: 'This logout request has expired or is not valid.' });
    }
  });
});

/**
 * An app's access token on our own API: `tasks.read` reads tasks, `tasks.write` writes the user's
 * own, never with staff powers, and no route but the task routes takes such a token. A tutorial
 * token works as before.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { issueOAuthAccessToken } from '../../src/auth/oidc-tokens';
import { getDb } from '../../src/db/client';
import { oauthGrants } from '../../src/db/schema';
import { routes } from '../../src/routes';
import { call, createUserWithToken, send, settings } from '../helpers';
import {
  authorizationRequest,
  discover,
  exchange,
  nextStep,
  options,
  registerClient,
  signedRequest,
  signIn,
  tokensFor,
} from './relying-party';
import * as oauth from 'oauth4webapi';

const task = { title: 'From another app', due_to: '2026-12-24T18:00:00Z' };

describe('OAuth access tokens on the task routes', () => {
  it('tasks.read reads, and cannot write', async () => {
    const { user, tokens } = await tokensFor('openid tasks.read');
    const token = tokens.access_token;
    const list = await send('GET', `/tasks/?person=${user.id}`, { token });
    expect(list.status).toBe(200);
    const write = await send('POST', '/tasks/', { token, body: task });
    expect(write.status).toBe(403);
    expect(write.headers.get('WWW-Authenticate')).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="tasks.write"',
    );
    expect(await write.json()).toEqual({ detail: 'The token lacks the scope this request needs.' });
  });

  it("tasks.write writes the user's own tasks, and only theirs", async () => {
    const { user, tokens } = await tokensFor('openid tasks.write');
    const token = tokens.access_token;
    const created = await send('POST', '/tasks/', { token, body: task });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { id: number; person: number };
    expect(body.person).toBe(user.id);
    expect((await send('PATCH', `/tasks/${body.id}/`, { token, body: { title: 'Renamed' } })).status).toBe(200);
    const other = await createUserWithToken();
    const theirs = (await (await send('POST', '/tasks/', { token: other.token, body: task })).json()) as { id: number };
    expect((await send('PATCH', `/tasks/${theirs.id}/`, { token, body: { title: 'Mine now' } })).status).toBe(403);
    expect((await send('DELETE', `/tasks/${theirs.id}/`, { token })).status).toBe(403);
    expect((await send('POST', '/tasks/', { token, body: { ...task, person: other.id } })).status).toBe(403);
    expect((await send('DELETE', `/tasks/${body.id}/`, { token })).status).toBe(204);
    // Without tasks.read, not even the reads anyone may make.
    expect((await send('GET', `/tasks/${theirs.id}/`, { token })).status).toBe(403);
  });

  it("a staff member's token acts only for them: no staff powers through an app", async () => {
    const { tokens } = await tokensFor('openid tasks.write', undefined, { isStaff: true });
    const other = await createUserWithToken();
    const theirs = (await (await send('POST', '/tasks/', { token: other.token, body: task })).json()) as { id: number };
    expect((await send('DELETE', `/tasks/${theirs.id}/`, { token: tokens.access_token })).status).toBe(403);
  });

  it('stops working once the grant is revoked', async () => {
    const { as, client, tokens } = await tokensFor('openid tasks.read');
    expect((await send('GET', '/tasks/', { token: tokens.access_token })).status).toBe(200);
    await oauth.revocationRequest(as, client.client, client.auth, tokens.access_token, options);
    const refused = await send('GET', '/tasks/', { token: tokens.access_token });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ detail: 'Token has been revoked.' });
  });

  it("a token naming another client's grant is refused, even signed by our key", async () => {
    const { client, user, tokens } = await tokensFor('openid tasks.read');
    const [grant] = await getDb(env.DB)
      .select()
      .from(oauthGrants)
      .where(eq(oauthGrants.clientId, client.client.client_id));
    const crossed = await issueOAuthAccessToken(
      {
        userId: user.id,
        clientId: (await registerClient()).client.client_id,
        scopes: ['openid', 'tasks.read'],
        grantId: grant!.id,
        authentication: { amr: ['pwd'], authTime: Math.floor(Date.now() / 1000) },
      },
      settings(),
    );
    expect((await send('GET', '/tasks/', { token: tokens.access_token })).status).toBe(200);
    expect((await send('GET', '/tasks/', { token: crossed })).status).toBe(401);
  });

  it('an ID token is never an access token', async () => {
    const { tokens } = await tokensFor('openid tasks.read tasks.write');
    const refused = await send('GET', '/tasks/', { token: tokens.id_token! });
    expect(refused.status).toBe(401);
    expect((await call('/oauth/userinfo', { headers: { Authorization: `Bearer ${tokens.id_token}` } })).status).toBe(
      401,
    );
  });
});

describe('OAuth access tokens anywhere else', () => {
  it('are refused by every route that reads a token, but the task routes', async () => {
    const { tokens } = await tokensFor('openid profile email offline_access tasks.read tasks.write');
    const elsewhere = routes.filter(
      (route) => (route.auth === 'required' || route.auth === 'optional') && route.oauthScope === undefined,
    );
    expect(elsewhere.length).toBeGreaterThan(20);
    for (const route of elsewhere) {
      const path = route.path
        .replace('{id}', '1')
        .replace('{session}', crypto.randomUUID())
        .replace('{client}', 'x')
        .replace('{provider}', 'x');
      const hasBody = ['post', 'put', 'patch'].includes(route.method);
      const response = await call(path, {
        method: route.method.toUpperCase(),
        headers: {
          Authorization: `Bearer ${tokens.access_token}`,
          ...(hasBody ? { 'Content-Type': 'application/json' } : {}),
        },
        body: hasBody ? '{}' : undefined,
      });
      expect(response.status, `${route.method} ${route.path}`).toBe(401);
      expect(await response.json()).toEqual({ detail: 'Error decoding signature.' });
    }
  });

  it('and a tutorial token is not an OAuth access token', async () => {
    const { token } = await createUserWithToken();
    const as = await discover();
    const client = await registerClient();
    const response = await oauth.userInfoRequest(as, client.client, token, options);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_token' });
  });
});

describe('/oauth/consents/', () => {
  it('lists the apps a user allowed, and withdrawing one ends its tokens, records it, and asks again', async () => {
    const { as, client, token, tokens } = await tokensFor('openid tasks.read offline_access');
    const list = await send('GET', '/oauth/consents/', { token });
    expect(await list.json()).toEqual([
      {
        client_id: client.client.client_id,
        name: client.name,
        scopes: ['openid', 'offline_access', 'tasks.read'].map((scope) => ({ scope, description: expect.any(String) })),
        granted: expect.stringMatching(/Z$/),
      },
    ]);
    expect((await send('DELETE', `/oauth/consents/${client.client.client_id}/`, { token })).status).toBe(204);
    expect(await (await send('GET', '/oauth/consents/', { token })).json()).toEqual([]);
    expect((await send('GET', '/tasks/', { token: tokens.access_token })).status).toBe(401);
    const refreshed = await oauth.refreshTokenGrantRequest(
      as,
      client.client,
      client.auth,
      tokens.refresh_token!,
      options,
    );
    expect(await refreshed.json()).toMatchObject({ error: 'invalid_grant' });
    const events = await send('GET', '/users/me/events/?kind=oauth.consent_revoked', { token });
    expect(((await events.json()) as { results: { details: unknown }[] }).results).toEqual([
      expect.objectContaining({ details: { client_id: client.client.client_id, name: client.name } }),
    ]);
    const again = await authorizationRequest(as, client);
    expect((await nextStep(await signedRequest(again), token)).body.action).toBe('consent');
    expect((await send('DELETE', `/oauth/consents/${client.client.client_id}/`, { token })).status).toBe(404);
  });

  it("withdrawing one app's consent leaves the user's other apps signed in", async () => {
    const as = await discover();
    const { user, token, tokens } = await tokensFor('openid tasks.read');
    const other = await registerClient();
    const attempt = await authorizationRequest(as, other, { scope: 'openid tasks.read' });
    const otherTokens = await exchange(as, other, attempt, await signIn(attempt, token));
    const [first] = (await (await send('GET', '/oauth/consents/', { token })).json()) as { client_id: string }[];
    expect((await send('DELETE', `/oauth/consents/${first!.client_id}/`, { token })).status).toBe(204);
    expect((await send('GET', '/tasks/', { token: tokens.access_token })).status).toBe(401);
    expect((await send('GET', `/tasks/?person=${user.id}`, { token: otherTokens.access_token })).status).toBe(200);
  });

  it("never shows or withdraws another user's consent", async () => {
    const { client, token } = await tokensFor('openid');
    const other = await createUserWithToken();
    expect(await (await send('GET', '/oauth/consents/', { token: other.token })).json()).toEqual([]);
    expect((await send('DELETE', `/oauth/consents/${client.client.client_id}/`, { token: other.token })).status).toBe(
      404,
    );
    expect(await (await send('GET', '/oauth/consents/', { token })).json()).toHaveLength(1);
  });
});

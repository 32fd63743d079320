/**
 * /oauth/clients/: staff register, list and remove the apps that sign in with this service. A
 * secret is shown once and kept as its SHA-256; redirect URIs are checked as RFC 8252 and RFC
 * 6749 ask; every change is in the audit log.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { hashSecret } from '../../src/auth/random-secrets';
import { getDb } from '../../src/db/client';
import { auditEvents, oauthClients, users } from '../../src/db/schema';
import { accessTokenFor, createUserWithToken, send } from '../helpers';

const db = () => getDb(env.DB);
const staff = () => createUserWithToken({ isStaff: true });

interface ClientBody {
  client_id: string;
  client_secret?: string;
  name: string;
  redirect_uris: string[];
  public: boolean;
}

async function create(token: string, body: unknown) {
  const response = await send('POST', '/oauth/clients/', { token, body });
  return { status: response.status, body: (await response.json()) as ClientBody & Record<string, unknown> };
}

describe('POST /oauth/clients/', () => {
  it('registers a confidential client: its secret once in the answer, only its SHA-256 in D1', async () => {
    const { token } = await staff();
    const { status, body } = await create(token, { name: 'Reports', redirect_uris: ['https://reports.example/cb'] });
    expect(status).toBe(201);
    expect(body).toEqual({
      client_id: expect.stringMatching(/^[\w-]{22}$/),
      client_secret: expect.stringMatching(/^[\w-]{43}$/),
      name: 'Reports',
      redirect_uris: ['https://reports.example/cb'],
      public: false,
    });
    const [row] = await db().select().from(oauthClients).where(eq(oauthClients.clientId, body.client_id));
    expect(row!.secretHash).toBe(await hashSecret(body.client_secret!));
    expect(Object.values(row!).map(String)).not.toContain(body.client_secret);

    const listed = await send('GET', '/oauth/clients/', { token });
    const clients = (await listed.json()) as ClientBody[];
    expect(clients.find((client) => client.client_id === body.client_id)).toEqual({
      client_id: body.client_id,
      name: 'Reports',
      redirect_uris: ['https://reports.example/cb'],
      public: false,
    });
  });

  it('registers a public client without a secret, with loopback and private-use redirect URIs', async () => {
    const { token } = await staff();
    const redirectUris = ['http://127.0.0.1/callback', 'http://[::1]/callback', 'com.example.notes:/callback'];
    const { status, body } = await create(token, { name: 'Notes', redirect_uris: redirectUris, public: true });
    expect(status).toBe(201);
    expect(body).not.toHaveProperty('client_secret');
    expect(body).toMatchObject({ public: true, redirect_uris: redirectUris });
    const [row] = await db().select().from(oauthClients).where(eq(oauthClients.clientId, body.client_id));
    expect(row!.secretHash).toBeNull();
  });

  it.each([
    [{ redirect_uris: ['https://a.example/cb'] }, 'name', 'This field is required.'],
    [{ name: '', redirect_uris: ['https://a.example/cb'] }, 'name', 'This field may not be blank.'],
    [{ name: 'x'.repeat(101), redirect_uris: ['https://a.example/cb'] }, 'name', 'no more than 100 characters'],
    [{ name: 'A' }, 'redirect_uris', 'This field is required.'],
    [{ name: 'A', redirect_uris: [] }, 'redirect_uris', 'This list may not be empty.'],
    [
      { name: 'A', redirect_uris: 'https://a.example/cb' },
      'redirect_uris',
      'Expected a list of items but got type "str".',
    ],
    [{ name: 'A', redirect_uris: Array(11).fill('https://a.example/cb') }, 'redirect_uris', 'no more than 10'],
    [{ name: 'A', redirect_uris: ['not a url'] }, 'redirect_uris', 'Enter a valid URL.'],
    [{ name: 'A', redirect_uris: ['https://a.example/cb#top'] }, 'redirect_uris', 'may not have a fragment'],
    [{ name: 'A', redirect_uris: ['https://me:pw@a.example/cb'] }, 'redirect_uris', 'may not hold credentials'],
    [{ name: 'A', redirect_uris: ['http://a.example/cb'] }, 'redirect_uris', 'http on a loopback host'],
    [{ name: 'A', redirect_uris: ['com.example.app:/cb'] }, 'redirect_uris', 'Use https'],
    [{ name: 'A', redirect_uris: ['javascript:alert(1)'], public: true }, 'redirect_uris', 'private-use scheme'],
    [{ name: 'A', redirect_uris: ['https://a.example/cb'], public: 'maybe' }, 'public', 'Must be a valid boolean.'],
  ])('refuses %j with a field error on %s', async (body, field, message) => {
    const { token } = await staff();
    const { status, body: answer } = await create(token, body);
    expect(status).toBe(400);
    expect(Object.keys(answer)).toEqual([field]);
    expect((answer[field] as string[]).join(' ')).toContain(message);
  });

  it('is for staff only, as D1 says now', async () => {
    const { token: userToken } = await createUserWithToken();
    const registration = { name: 'A', redirect_uris: ['https://a.example/cb'] };
    expect((await send('POST', '/oauth/clients/', { body: registration })).status).toBe(401);
    expect((await create(userToken, registration)).status).toBe(403);
    expect((await send('GET', '/oauth/clients/', { token: userToken })).status).toBe(403);

    const demoted = await createUserWithToken({ isStaff: true });
    await db().update(users).set({ isStaff: false }).where(eq(users.id, demoted.id));
    expect((await create(demoted.token, registration)).status).toBe(403);
    const deactivated = await createUserWithToken({ isStaff: true });
    await db().update(users).set({ isActive: false }).where(eq(users.id, deactivated.id));
    expect((await create(deactivated.token, registration)).status).toBe(401);
  });
});

describe('DELETE /oauth/clients/<client_id>/', () => {
  it('removes the client (204), then answers 404; each change is in the audit log', async () => {
    const admin = await staff();
    const { body } = await create(admin.token, { name: 'Gone soon', redirect_uris: ['https://gone.example/cb'] });
    const path = `/oauth/clients/${body.client_id}/`;
    expect((await send('DELETE', path, { token: (await createUserWithToken()).token })).status).toBe(403);
    expect((await send('DELETE', path, { token: admin.token })).status).toBe(204);
    expect(await db().select().from(oauthClients).where(eq(oauthClients.clientId, body.client_id))).toEqual([]);
    expect((await send('DELETE', path, { token: admin.token })).status).toBe(404);
    expect((await send('DELETE', '/oauth/clients/no.such$client/', { token: admin.token })).status).toBe(404);

    const events = await db().select().from(auditEvents).where(eq(auditEvents.actorId, admin.id));
    expect(events.map((event) => [event.kind, JSON.parse(event.details)])).toEqual([
      ['staff.oauth_client_created', { client_id: body.client_id, name: 'Gone soon' }],
      ['staff.oauth_client_deleted', { client_id: body.client_id }],
    ]);
  });

  it('is refused to a token of a user who is not staff now', async () => {
    const admin = await staff();
    const { body } = await create(admin.token, { name: 'Kept', redirect_uris: ['https://kept.example/cb'] });
    await db().update(users).set({ isStaff: false }).where(eq(users.id, admin.id));
    const stale = await accessTokenFor({ ...admin, isStaff: true });
    expect((await send('DELETE', `/oauth/clients/${body.client_id}/`, { token: stale })).status).toBe(403);
    expect(await db().select().from(oauthClients).where(eq(oauthClients.clientId, body.client_id))).toHaveLength(1);
  });
});

import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { now, signedWithServiceKey } from '../security/forge';
import { getDb } from '../../src/db/client';
import { users } from '../../src/db/schema';
import {
  accessTokenFor,
  activationTokenFor,
  call,
  createUser,
  obtainToken,
  pathOf,
  postJson,
  register,
} from '../helpers';

const isActive = async (username: string) =>
  (await getDb(env.DB).query.users.findFirst({ where: eq(users.username, username) }))!.isActive;

const tokenOf = (confirmationUrl: string) => confirmationUrl.split('/').at(-2)!;

afterEach(() => {
  vi.useRealTimers();
});

describe('GET /api-activate/<token>/', () => {
  it('activates the user and answers ["User Activated"]', async () => {
    const { username, confirmationUrl } = await register();
    expect(await isActive(username)).toBe(false);
    const response = await call(pathOf(confirmationUrl));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(['User Activated']);
    expect(await isActive(username)).toBe(true);
  });

  it('works without the trailing slash', async () => {
    const { username, confirmationUrl } = await register();
    const response = await call(pathOf(confirmationUrl).replace(/\/$/, ''));
    expect(response.status).toBe(200);
    expect(await isActive(username)).toBe(true);
  });

  it('works once: a second use answers 400 and never re-activates a deactivated account', async () => {
    const { username, confirmationUrl } = await register();
    expect((await call(pathOf(confirmationUrl))).status).toBe(200);

    await getDb(env.DB).update(users).set({ isActive: false }).where(eq(users.username, username));
    const again = await call(pathOf(confirmationUrl));
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({ detail: 'This activation link has already been used.' });
    expect(await isActive(username)).toBe(false);
  });

  it('answers 401 "Signature has expired." after ACTIVATION_EXPIRATION_DELTA (2 h)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T10:00:00Z'));
    const { username, confirmationUrl } = await register();
    vi.setSystemTime(new Date('2026-01-01T12:00:01Z'));
    const response = await call(pathOf(confirmationUrl));
    expect(response.status).toBe(401);
    expect(response.headers.get('WWW-Authenticate')).toBe('Bearer realm="api", error="invalid_token"');
    expect(await response.json()).toEqual({ detail: 'Signature has expired.' });
    expect(await isActive(username)).toBe(false);
  });

  it('still works just before it expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T10:00:00Z'));
    const { confirmationUrl } = await register();
    vi.setSystemTime(new Date('2026-01-01T11:59:59Z'));
    expect((await call(pathOf(confirmationUrl))).status).toBe(200);
  });

  it('refuses an access token in place of an activation token', async () => {
    const user = await createUser({ isActive: false });
    const response = await call(`/api-activate/${await accessTokenFor(user)}/`);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ detail: 'Error decoding signature.' });
    expect(await isActive(user.username)).toBe(false);
  });

  it('refuses a token that is not a JWT or whose signature was tampered with', async () => {
    const { confirmationUrl } = await register();
    const token = tokenOf(confirmationUrl);
    const tampered = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    for (const bad of ['not-a-token', tampered]) {
      const response = await call(`/api-activate/${bad}/`);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ detail: 'Error decoding signature.' });
    }
  });

  it('refuses a validly signed token for a user whose link was never issued', async () => {
    const user = await createUser({ isActive: false });
    const response = await call(`/api-activate/${await activationTokenFor(user.id, crypto.randomUUID())}/`);
    expect(response.status).toBe(400);
    expect(await isActive(user.username)).toBe(false);
  });
});

describe('HEAD /api-activate/<token>/', () => {
  it('answers 405 and activates no one: link scanners send HEAD', async () => {
    const { username, confirmationUrl } = await register();
    const head = await call(pathOf(confirmationUrl), { method: 'HEAD' });
    expect(head.status).toBe(405);
    expect(head.headers.get('Allow')).toBe('GET, OPTIONS');
    expect(await isActive(username)).toBe(false);
    expect((await call(pathOf(confirmationUrl))).status).toBe(200);
    expect(await isActive(username)).toBe(true);
  });
});

describe('a token longer than 8,192 characters', () => {
  it('is refused before any parsing, in the path and in the body, even when validly signed', async () => {
    const user = await createUser({ isActive: false });
    const jti = crypto.randomUUID();
    await getDb(env.DB).update(users).set({ activationJti: jti }).where(eq(users.id, user.id));
    const claims = { sub: String(user.id), user_id: user.id, iat: now(), exp: now() + 60, jti, pad: 'x'.repeat(9000) };
    const long = await signedWithServiceKey({ typ: 'activation+jwt' }, claims);
    const viaPath = await call(`/api-activate/${long}/`);
    expect(viaPath.status).toBe(401);
    expect(await viaPath.json()).toEqual({ detail: 'Error decoding signature.' });
    const viaBody = await postJson('/api-activate/', { token: long });
    expect(viaBody.status).toBe(400);
    expect(await viaBody.json()).toEqual({ token: ['Ensure this field has no more than 8192 characters.'] });
    expect(await isActive(user.username)).toBe(false);
  });
});

describe('POST /api-activate/', () => {
  it('activates with {"token"} so that the user can then log in', async () => {
    const { username, password, confirmationUrl } = await register();
    const response = await postJson('/api-activate/', { token: tokenOf(confirmationUrl) });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(['User Activated']);
    expect(await obtainToken(username, password)).toMatch(/^ey/);
  });

  it('answers 400 when the token is missing', async () => {
    const response = await postJson('/api-activate/', {});
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ token: ['This field is required.'] });
  });

  it('answers 405 to GET without a token', async () => {
    const response = await call('/api-activate/');
    expect(response.status).toBe(405);
    expect(await response.json()).toEqual({ detail: 'Method "GET" not allowed.' });
  });
});

import { env } from 'cloudflare:workers';
import { Hono } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { authenticate } from '../../src/auth/middleware';
import { getSettings } from '../../src/config';
import type { AppEnv } from '../../src/env';
import { renderError } from '../../src/http/error-handler';
import { accessTokenFor, activationTokenFor, call, callWithEnv, countingD1, createUser } from '../helpers';

/** The real middleware on a probe route that shows what it set. */
function probe(overrides: Record<string, unknown> = {}) {
  const app = new Hono<AppEnv>()
    .use(async (c, next) => {
      c.set('settings', getSettings(c.env));
      await next();
    })
    .get('/whoami', authenticate(), (c) => c.json({ user: c.var.user }))
    .onError(renderError);
  const counter = countingD1(env.DB);
  return {
    queries: counter.count,
    whoami: (authorization?: string) =>
      app.request(
        '/whoami',
        { headers: authorization ? { Authorization: authorization } : {} },
        { ...env, DB: counter.binding, ...overrides },
      ),
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('authenticate', () => {
  it('sets the user from a Bearer or JWT token, any case, without reading D1', async () => {
    const user = await createUser({ isStaff: true });
    const token = await accessTokenFor(user);
    const { whoami, queries } = probe();
    for (const prefix of ['Bearer', 'JWT', 'bearer', 'jwt']) {
      const response = await whoami(`${prefix} ${token}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        user: {
          id: user.id,
          username: user.username,
          isStaff: true,
          tokenVersion: 0,
          authentication: { amr: ['pwd'], authTime: expect.any(Number) },
        },
      });
    }
    expect(queries()).toBe(0);
  });

  it('leaves the request anonymous without a header or with another scheme', async () => {
    const { whoami } = probe();
    for (const header of [undefined, 'Basic YWRtaW46YWRtaW4=', 'Token abc']) {
      const response = await whoami(header);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ user: null });
    }
  });

  it('follows JWT_AUTH_HEADER_PREFIX: with only "Bearer", a JWT prefix is another scheme', async () => {
    const token = await accessTokenFor(await createUser());
    const { whoami } = probe({ JWT_AUTH_HEADER_PREFIX: 'Bearer' });
    expect(await (await whoami(`JWT ${token}`)).json()).toEqual({ user: null });
    expect(((await (await whoami(`Bearer ${token}`)).json()) as { user: unknown }).user).not.toBeNull();
  });

  it('answers 401 with WWW-Authenticate for a configured prefix with bad credentials', async () => {
    const user = await createUser();
    const { whoami } = probe();
    const malformed = 'Bearer realm="api", error="invalid_request"';
    const invalid = 'Bearer realm="api", error="invalid_token"';
    const cases: [string, string, string][] = [
      ['Bearer', 'Invalid Authorization header. No credentials provided.', malformed],
      ['Bearer a b', 'Invalid Authorization header. Credentials string should not contain spaces.', malformed],
      ['Bearer not.a.token', 'Error decoding signature.', invalid],
      [`JWT ${await activationTokenFor(user.id, crypto.randomUUID())}`, 'Error decoding signature.', invalid],
      [`Bearer ${'a'.repeat(9000)}`, 'Error decoding signature.', invalid],
    ];
    for (const [header, message, challenge] of cases) {
      const response = await whoami(header);
      expect(response.status).toBe(401);
      expect(response.headers.get('WWW-Authenticate')).toBe(challenge);
      expect(await response.json()).toEqual({ detail: message });
    }
  });

  it('answers 401 "Signature has expired." once the access token has expired', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-02-01T00:00:00Z'));
    const token = await accessTokenFor(await createUser());
    vi.setSystemTime(new Date('2026-02-01T00:05:00Z'));
    const response = await probe().whoami(`Bearer ${token}`);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ detail: 'Signature has expired.' });
  });
});

describe('GET / authenticates like every DRF view', () => {
  it('accepts both prefixes and reads nothing from D1', async () => {
    const token = await accessTokenFor(await createUser());
    const counter = countingD1(env.DB);
    for (const prefix of ['Bearer', 'JWT']) {
      const response = await callWithEnv({ DB: counter.binding }, '/', {
        headers: { Authorization: `${prefix} ${token}` },
      });
      expect(response.status).toBe(200);
    }
    expect(counter.count()).toBe(0);
  });

  it('refuses a bad token with 401', async () => {
    const response = await call('/', { headers: { Authorization: 'JWT garbage' } });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ detail: 'Error decoding signature.' });
  });
});

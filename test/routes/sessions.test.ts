/**
 * Browser sessions: the HttpOnly refresh cookie of POST /auth/session/, its rotation with reuse
 * detection, the Origin checks, and everything that ends a session. Through the real app and D1.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { passwordFingerprint } from '../../src/auth/passwords';
import { hashSecret } from '../../src/auth/random-secrets';
import { issuePasswordResetToken } from '../../src/auth/tokens';
import { getDb } from '../../src/db/client';
import { sessions, users } from '../../src/db/schema';
import {
  call,
  callWithEnv,
  countingD1,
  createUser,
  createUserWithToken,
  decodeJwt,
  obtainToken,
  proxyD1,
  send,
  settings,
  SITE_URL,
  type TestUser,
} from '../helpers';

const COOKIE = '__Secure-session';
const ORIGIN = new URL(SITE_URL).origin;
const ENDED = { detail: 'Session has expired or has been ended.' };

afterEach(() => {
  vi.restoreAllMocks();
});

type Env = Record<string, unknown>;

/** Calls the Worker, or a fresh app with `overrides` of the environment when given. */
const request = (path: string, init: RequestInit, overrides?: Env) =>
  overrides ? callWithEnv(overrides, path, init) : call(path, init);

function logIn(user: TestUser, { origin, overrides }: { origin?: string; overrides?: Env } = {}) {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (origin !== undefined) headers.Origin = origin;
  const body = JSON.stringify({ username: user.username, password: user.password });
  return request('/auth/session/', { method: 'POST', headers, body }, overrides);
}

function withCookie(
  method: string,
  path: string,
  secret: string | undefined,
  { origin = ORIGIN, overrides }: { origin?: string | null; overrides?: Env } = {},
) {
  const headers: Record<string, string> = {};
  if (origin !== null) headers.Origin = origin;
  if (secret !== undefined) headers.Cookie = `${COOKIE}=${secret}`;
  return request(path, { method, headers }, overrides);
}

const refresh = (secret: string | undefined, options?: Parameters<typeof withCookie>[3]) =>
  withCookie('POST', '/auth/session/refresh/', secret, options);
const endSession = (secret: string | undefined, options?: Parameters<typeof withCookie>[3]) =>
  withCookie('DELETE', '/auth/session/', secret, options);

interface SetCookie {
  name: string;
  value: string;
  attributes: string[];
}

/** The response's Set-Cookie headers, parsed. */
function setCookies(response: Response): SetCookie[] {
  return response.headers.getSetCookie().map((header) => {
    const [pair, ...attributes] = header.split(';').map((part) => part.trim());
    const at = pair!.indexOf('=');
    return { name: pair!.slice(0, at), value: pair!.slice(at + 1), attributes };
  });
}

/** The one session cookie the response sets. */
function sessionCookie(response: Response): SetCookie {
  const cookies = setCookies(response);
  expect(cookies.map(({ name }) => name)).toEqual([COOKIE]);
  return cookies[0]!;
}

const maxAge = (cookie: SetCookie) => Number(cookie.attributes.find((a) => a.startsWith('Max-Age='))!.slice(8));

/** Logs `user` in and answers the cookie's secret and the access token. */
async function startSession(user: TestUser, overrides?: Env) {
  const response = await logIn(user, { overrides });
  expect(response.status).toBe(200);
  const { token } = (await response.json()) as { token: string };
  return { secret: sessionCookie(response).value, token };
}

/** Refreshes with `secret`, which must work, and answers the rotated secret and the new token. */
async function rotate(secret: string, overrides?: Env) {
  const response = await refresh(secret, { overrides });
  expect(response.status).toBe(200);
  const { token } = (await response.json()) as { token: string };
  return { secret: sessionCookie(response).value, token };
}

async function expectEnded(response: Response) {
  expect(response.status).toBe(401);
  expect(await response.json()).toEqual(ENDED);
  expect(response.headers.get('WWW-Authenticate')).toBe('Cookie realm="api"');
  const cleared = sessionCookie(response);
  expect(cleared.value).toBe('');
  expect(maxAge(cleared)).toBe(0);
}

const sessionRows = (userId: number) => getDb(env.DB).select().from(sessions).where(eq(sessions.userId, userId));

describe('POST /auth/session/', () => {
  it('answers an access token and sets an HttpOnly, Secure, SameSite=Strict cookie for the session path only', async () => {
    const user = await createUser();
    const response = await logIn(user);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { token: string };
    expect(Object.keys(body)).toEqual(['token']);
    expect(decodeJwt(body.token).payload).toMatchObject({ user_id: user.id, username: user.username });
    expect((await send('GET', '/users/me/', { token: body.token })).status).toBe(200);

    const cookie = sessionCookie(response);
    expect(cookie.name).toBe('__Secure-session');
    expect(cookie.attributes.sort()).toEqual(
      ['HttpOnly', 'Max-Age=604800', 'Path=/auth/session/', 'SameSite=Strict', 'Secure'].sort(),
    );
    // 256 random bits, base64url.
    expect(cookie.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(body)).not.toContain(cookie.value);
  });

  it('caps the cookie at the 400 days browsers keep one, however long the session may last', async () => {
    const response = await logIn(await createUser(), { overrides: { JWT_REFRESH_EXPIRATION_DELTA: '500d' } });
    expect(response.status).toBe(200);
    expect(maxAge(sessionCookie(response))).toBe(400 * 86400);
  });

  it('stores only the SHA-256 of the secret, with the absolute end JWT_REFRESH_EXPIRATION_DELTA after the login', async () => {
    const user = await createUser();
    const before = Date.now();
    const { secret, token } = await startSession(user);
    const [row] = await sessionRows(user.id);
    expect(row!.secretHash).toBe(await hashSecret(secret));
    expect(Object.values(row!).map(String)).not.toContain(secret);
    expect(row!.expiresAt.getTime() - row!.loginAt.getTime()).toBe(settings().jwtRefreshExpirationDelta * 1000);
    expect(row!.loginAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(decodeJwt(token).payload.orig_iat).toBe(Math.floor(row!.loginAt.getTime() / 1000));
  });

  it('refuses as obtain does, with the same body, and sets no cookie', async () => {
    const user = await createUser();
    const inactive = await createUser({ isActive: false });
    const attempts = [{ ...user, password: 'wrong password' }, { ...user, username: 'nobody_at_all' }, inactive];
    for (const attempt of attempts) {
      const response = await logIn(attempt);
      const obtained = await call('/auth/obtain_token/', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: attempt.username, password: attempt.password }),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual(await obtained.json());
      expect(setCookies(response)).toEqual([]);
    }
    expect(await sessionRows(user.id)).toEqual([]);
  });

  it('accepts a form body as obtain does', async () => {
    const user = await createUser();
    const response = await call('/auth/session/', {
      method: 'POST',
      body: new URLSearchParams({ username: user.username, password: user.password }),
    });
    expect(response.status).toBe(200);
    expect(sessionCookie(response).value).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses a page of another origin (login CSRF); accepts SITE_URL, listed origins, and scripts without Origin', async () => {
    const user = await createUser();
    const listed = { CORS_ALLOWED_ORIGINS: 'https://app.example.com' };
    for (const origin of ['https://evil.example.com', 'null', `${ORIGIN}.evil.example.com`]) {
      const response = await logIn(user, { origin, overrides: listed });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({
        detail: `CSRF Failed: Origin checking failed - ${origin} does not match any trusted origins.`,
      });
      expect(setCookies(response)).toEqual([]);
    }
    expect(await sessionRows(user.id)).toEqual([]);
    for (const origin of [ORIGIN, 'https://app.example.com', undefined]) {
      expect((await logIn(user, { origin, overrides: listed })).status).toBe(200);
    }
  });
});

describe('pruning', () => {
  it('each login and each refresh deletes up to 20 expired rows, the oldest first, and no live one', async () => {
    const stale = await createUser();
    // Expired in 1970: older than any other row a test leaves, so they are the first to go.
    const rows = Array.from({ length: 25 }, (_, i) => ({
      family: crypto.randomUUID(),
      userId: stale.id,
      secretHash: crypto.randomUUID(),
      tokenVersion: 0,
      loginAt: new Date(i),
      expiresAt: new Date(1000 + i),
    }));
    for (let i = 0; i < rows.length; i += 5)
      await getDb(env.DB)
        .insert(sessions)
        .values(rows.slice(i, i + 5));
    const live = await createUser();
    const { secret } = await startSession(live);
    const left = await sessionRows(stale.id);
    expect(left.map((row) => row.expiresAt.getTime()).sort()).toEqual([1020, 1021, 1022, 1023, 1024]);
    await rotate(secret);
    expect(await sessionRows(stale.id)).toEqual([]);
    expect(await sessionRows(live.id)).toHaveLength(2);
  });
});

describe('POST /auth/session/refresh/', () => {
  it('answers a new access token with the login as orig_iat and rotates the cookie', async () => {
    const user = await createUser();
    const login = await startSession(user);
    const first = await rotate(login.secret);
    expect(first.secret).not.toBe(login.secret);
    const claims = decodeJwt(first.token).payload;
    expect(claims).toMatchObject({ user_id: user.id, orig_iat: decodeJwt(login.token).payload.orig_iat });
    expect((await send('GET', '/users/me/', { token: first.token })).status).toBe(200);
    const second = await rotate(first.secret);
    expect(second.secret).not.toBe(first.secret);
    expect(await sessionRows(user.id)).toHaveLength(3);
  });

  it('keeps the absolute end: a rotated cookie lives only what remains of the session', async () => {
    const user = await createUser();
    const { secret } = await startSession(user);
    await getDb(env.DB)
      .update(sessions)
      .set({ expiresAt: new Date(Date.now() + 3_600_000) })
      .where(eq(sessions.userId, user.id));
    const response = await refresh(secret);
    const age = maxAge(sessionCookie(response));
    expect(age).toBeGreaterThan(3590);
    expect(age).toBeLessThanOrEqual(3600);
  });

  it('refuses after the absolute end (JWT_REFRESH_EXPIRATION_DELTA from the login), rotations or not', async () => {
    const short = { JWT_REFRESH_EXPIRATION_DELTA: '2s' };
    const user = await createUser();
    const login = await logIn(user, { overrides: short });
    const cookie = sessionCookie(login);
    expect(maxAge(cookie)).toBe(2);
    const rotated = await rotate(cookie.value, short);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await expectEnded(await refresh(rotated.secret, { overrides: short }));
  });

  it('refuses a request without a cookie, or with a cookie that is not one of ours', async () => {
    const missing = await refresh(undefined);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ detail: 'Authentication credentials were not provided.' });
    expect(missing.headers.get('WWW-Authenticate')).toBe('Cookie realm="api"');
    // A well-formed secret that is not ours costs one round trip; anything else none, and reads as no cookie.
    const unknown = countingD1(env.DB);
    await expectEnded(await refresh('a'.repeat(43), { overrides: { DB: unknown.binding } }));
    expect(unknown.count()).toBe(1);
    for (const value of ['x', `${'a'.repeat(42)}=`, `${'a'.repeat(44)}`, '%zz', `"${'b'.repeat(41)}`]) {
      const malformed = countingD1(env.DB);
      const response = await refresh(value, { overrides: { DB: malformed.binding } });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ detail: 'Authentication credentials were not provided.' });
      expect(maxAge(sessionCookie(response))).toBe(0);
      expect(malformed.count()).toBe(0);
    }
  });

  it('refuses once the user is deactivated, even when an operator does it in the D1 console', async () => {
    const user = await createUser();
    const { secret } = await startSession(user);
    await getDb(env.DB).update(users).set({ isActive: false }).where(eq(users.id, user.id));
    await expectEnded(await refresh(secret));
  });

  it('costs one D1 round trip', async () => {
    const { secret } = await startSession(await createUser());
    const counter = countingD1(env.DB);
    const response = await refresh(secret, { overrides: { DB: counter.binding } });
    expect(response.status).toBe(200);
    expect(counter.count()).toBe(1);
  });

  it('answers 403 when JWT_ALLOW_REFRESH is false, and the login then sets no cookie', async () => {
    const disabled = { JWT_ALLOW_REFRESH: 'false' };
    const user = await createUser();
    const { secret } = await startSession(user);
    const response = await refresh(secret, { overrides: disabled });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ detail: 'Token refresh is disabled.' });
    const before = (await sessionRows(user.id)).length;
    const login = await logIn(user, { overrides: disabled });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };
    expect(decodeJwt(token).payload.sid).toBeUndefined();
    expect(setCookies(login)).toEqual([]);
    expect(await sessionRows(user.id)).toHaveLength(before);
  });
});

describe('reuse of a rotated cookie', () => {
  const noGrace = { SESSION_ROTATION_GRACE: '0' };

  it('ends the whole family: the stolen copy and the newest cookie are both refused', async () => {
    const user = await createUser();
    const login = await startSession(user, noGrace);
    const first = await rotate(login.secret, noGrace);
    const newest = await rotate(first.secret, noGrace);
    await expectEnded(await refresh(login.secret, { overrides: noGrace }));
    await expectEnded(await refresh(newest.secret, { overrides: noGrace }));
    await expectEnded(await refresh(first.secret, { overrides: noGrace }));
    expect(await sessionRows(user.id)).toEqual([]);
  });

  it('ends only that family: another login of the same user goes on', async () => {
    const user = await createUser();
    const stolen = await startSession(user, noGrace);
    const other = await startSession(user, noGrace);
    await rotate(stolen.secret, noGrace);
    await expectEnded(await refresh(stolen.secret, { overrides: noGrace }));
    expect((await refresh(other.secret, { overrides: noGrace })).status).toBe(200);
  });

  it('past the grace, ends the family even right after rotating', async () => {
    const user = await createUser();
    const login = await startSession(user);
    const next = await rotate(login.secret);
    // Time passes: the rotation happened 11 s ago (the default grace is 10 s).
    await getDb(env.DB)
      .update(sessions)
      .set({ rotatedAt: new Date(Date.now() - 11_000) })
      .where(eq(sessions.userId, user.id));
    await expectEnded(await refresh(login.secret));
    await expectEnded(await refresh(next.secret));
  });
});

describe('the grace for two tabs (SESSION_ROTATION_GRACE)', () => {
  it('lets the immediately previous cookie refresh, without a new cookie, and the session goes on', async () => {
    const user = await createUser();
    const login = await startSession(user);
    const tabA = await rotate(login.secret);
    const tabB = await refresh(login.secret);
    expect(tabB.status).toBe(200);
    expect(tabB.headers.getSetCookie()).toEqual([]);
    const { token } = (await tabB.json()) as { token: string };
    expect((await send('GET', '/users/me/', { token })).status).toBe(200);
    expect((await refresh(tabA.secret)).status).toBe(200);
  });

  it('two refreshes at the same moment: both answer a token, exactly one sets the successor', async () => {
    const user = await createUser();
    const login = await startSession(user);
    const answers = await Promise.all([refresh(login.secret), refresh(login.secret)]);
    expect(answers.map((response) => response.status)).toEqual([200, 200]);
    const set = answers.flatMap((response) => response.headers.getSetCookie());
    expect(set).toHaveLength(1);
    const successor = sessionCookie(answers.find((response) => response.headers.getSetCookie().length > 0)!);
    expect((await refresh(successor.value)).status).toBe(200);
  });

  it('never revives an ended session: after logout the previous cookie is refused too', async () => {
    const user = await createUserWithToken();
    const login = await startSession(user);
    const next = await rotate(login.secret);
    await send('POST', '/auth/logout/', { token: user.token });
    await expectEnded(await refresh(login.secret));
    await expectEnded(await refresh(next.secret));
  });

  it('covers only the immediately previous cookie: an older one ends the family', async () => {
    const user = await createUser();
    const login = await startSession(user);
    const first = await rotate(login.secret);
    const second = await rotate(first.secret);
    await expectEnded(await refresh(login.secret));
    await expectEnded(await refresh(second.secret));
  });
});

describe('CSRF: the Origin of refresh and logout', () => {
  const routes = [
    { name: 'refresh', run: refresh, ok: 200 },
    { name: 'logout', run: endSession, ok: 204 },
  ];

  for (const { name, run, ok } of routes) {
    it(`${name}: refused without Origin, from a foreign one, or from "null"; nothing changes`, async () => {
      const user = await createUser();
      const { secret } = await startSession(user);
      const cases = [
        { origin: null, message: 'CSRF Failed: Origin header is missing.' },
        {
          origin: 'https://evil.example.com',
          message: 'CSRF Failed: Origin checking failed - https://evil.example.com does not match any trusted origins.',
        },
        { origin: 'null', message: 'CSRF Failed: Origin checking failed - null does not match any trusted origins.' },
        {
          origin: 'http://localhost:8788',
          message: 'CSRF Failed: Origin checking failed - http://localhost:8788 does not match any trusted origins.',
        },
      ];
      for (const { origin, message } of cases) {
        const response = await run(secret, { origin });
        expect(response.status).toBe(403);
        expect(await response.json()).toEqual({ detail: message });
        expect(response.headers.getSetCookie()).toEqual([]);
      }
      // The session is untouched: the cookie still works.
      expect((await refresh(secret)).status).toBe(200);
    });

    it(`${name}: accepted from SITE_URL's origin and from a listed origin, never from "*"`, async () => {
      const user = await createUser();
      const listed = { CORS_ALLOWED_ORIGINS: 'https://app.example.com' };
      expect((await run((await startSession(user)).secret, { origin: ORIGIN })).status).toBe(ok);
      const fromApp = await run((await startSession(user)).secret, {
        origin: 'https://app.example.com',
        overrides: listed,
      });
      expect(fromApp.status).toBe(ok);
      const anyOrigin = { CORS_ALLOWED_ORIGINS: '*' };
      const literalStar = await run((await startSession(user)).secret, {
        origin: '*',
        overrides: { CORS_ALLOWED_ORIGINS: '*' },
      });
      expect(literalStar.status).toBe(403);
      const fromAny = await run((await startSession(user)).secret, {
        origin: 'https://app.example.com',
        overrides: anyOrigin,
      });
      expect(fromAny.status).toBe(403);
    });
  }
});

describe('CORS on the session routes', () => {
  const listed = { CORS_ALLOWED_ORIGINS: 'https://app.example.com' };
  const preflight = (path: string, origin: string, overrides: Env) =>
    callWithEnv(overrides, path, {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' },
    });

  it('allows credentials for a listed origin on the session routes only', async () => {
    for (const path of ['/auth/session/', '/auth/session/refresh/', '/auth/session/refresh']) {
      const response = await preflight(path, 'https://app.example.com', listed);
      expect(response.status).toBe(204);
      expect(response.headers.get('Access-Control-Allow-Origin')).toBe('https://app.example.com');
      expect(response.headers.get('Access-Control-Allow-Credentials')).toBe('true');
    }
    const user = await createUser();
    const { secret } = await startSession(user);
    const answer = await refresh(secret, { origin: 'https://app.example.com', overrides: listed });
    expect(answer.headers.get('Access-Control-Allow-Origin')).toBe('https://app.example.com');
    expect(answer.headers.get('Access-Control-Allow-Credentials')).toBe('true');

    for (const path of ['/auth/obtain_token/', '/tasks/']) {
      const response = await preflight(path, 'https://app.example.com', listed);
      expect(response.headers.get('Access-Control-Allow-Origin')).toBe('https://app.example.com');
      expect(response.headers.get('Access-Control-Allow-Credentials')).toBeNull();
    }
    // A path that only starts like the session routes is not one of them: /auth/sessions/ takes a
    // bearer token (401 without), with the API's CORS.
    const lookalike = await callWithEnv(listed, '/auth/sessions', { headers: { Origin: 'https://app.example.com' } });
    expect(lookalike.status).toBe(401);
    expect(lookalike.headers.get('Access-Control-Allow-Origin')).toBe('https://app.example.com');
    expect(lookalike.headers.get('Access-Control-Allow-Credentials')).toBeNull();
  });

  it('gives no CORS answer on the session routes to an unlisted origin, nor to any under "*"', async () => {
    const unlisted = await preflight('/auth/session/refresh/', 'https://evil.example.com', listed);
    expect(unlisted.headers.get('Access-Control-Allow-Origin')).toBeNull();
    expect(unlisted.headers.get('Access-Control-Allow-Credentials')).toBeNull();
    const star = await preflight('/auth/session/refresh/', 'https://app.example.com', { CORS_ALLOWED_ORIGINS: '*' });
    expect(star.headers.get('Access-Control-Allow-Origin')).toBeNull();
    expect(star.headers.get('Access-Control-Allow-Credentials')).toBeNull();
    // Elsewhere "*" still answers everyone, without credentials.
    const api = await preflight('/tasks/', 'https://app.example.com', { CORS_ALLOWED_ORIGINS: '*' });
    expect(api.headers.get('Access-Control-Allow-Origin')).toBe('*');
  });
});

describe('what ends a session', () => {
  it('DELETE /auth/session/: 204, the cookie cleared, the session over (all its cookies)', async () => {
    const user = await createUser();
    const login = await startSession(user);
    const next = await rotate(login.secret);
    const other = await startSession(user);
    const response = await endSession(next.secret);
    expect(response.status).toBe(204);
    const cleared = sessionCookie(response);
    expect(cleared.value).toBe('');
    expect(maxAge(cleared)).toBe(0);
    expect(cleared.attributes).toContain('Path=/auth/session/');
    await expectEnded(await refresh(next.secret));
    // The user's other session (another browser) goes on.
    expect((await refresh(other.secret)).status).toBe(200);
  });

  it('DELETE /auth/session/ without a cookie: 204, the cookie cleared, no database work', async () => {
    const counter = countingD1(env.DB);
    const response = await endSession(undefined, { overrides: { DB: counter.binding } });
    expect(response.status).toBe(204);
    expect(maxAge(sessionCookie(response))).toBe(0);
    expect(counter.count()).toBe(0);
  });

  it('DELETE /auth/session without the slash, where browsers send no cookie: 308 to the path that gets it', async () => {
    const { secret } = await startSession(await createUser());
    const response = await call('/auth/session', {
      method: 'DELETE',
      redirect: 'manual',
      headers: { Origin: ORIGIN, Cookie: `${COOKIE}=${secret}` },
    });
    expect(response.status).toBe(308);
    expect(response.headers.get('Location')).toBe('/auth/session/');
    expect(response.headers.getSetCookie()).toEqual([]);
    expect((await refresh(secret)).status).toBe(200);
  });

  it('a new login in a browser that holds a cookie ends the session of that cookie (a stolen copy included)', async () => {
    const user = await createUser();
    const first = await startSession(user);
    const stolen = await rotate(first.secret);
    const headers = {
      'Content-Type': 'application/json',
      Origin: ORIGIN,
      Cookie: `${COOKIE}=${first.secret}`,
    };
    const body = JSON.stringify({ username: user.username, password: user.password });
    const again = await call('/auth/session/', { method: 'POST', headers, body });
    expect(again.status).toBe(200);
    const fresh = sessionCookie(again).value;
    await expectEnded(await refresh(stolen.secret));
    expect((await refresh(fresh)).status).toBe(200);
  });

  const endings: { name: string; end: (user: TestUser & { token: string }) => Promise<Response> }[] = [
    { name: 'POST /auth/logout/', end: ({ token }) => send('POST', '/auth/logout/', { token }) },
    {
      name: 'a password change',
      end: ({ token, password }) =>
        send('PATCH', '/users/me/', {
          token,
          body: { password: 'a brand new passphrase', current_password: password },
        }),
    },
    {
      name: 'a password reset',
      end: async ({ id }) => {
        const [row] = await getDb(env.DB).select({ password: users.password }).from(users).where(eq(users.id, id));
        const token = await issuePasswordResetToken(id, await passwordFingerprint(row!.password), settings());
        return callWithEnv({}, '/auth/password/reset/confirm/', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ token, new_password: 'a brand new passphrase' }),
        });
      },
    },
    {
      name: 'staff deactivation',
      end: async ({ id }) => {
        const staff = await createUserWithToken({ isStaff: true });
        return send('PATCH', `/users/${id}/`, { token: staff.token, body: { is_active: false } });
      },
    },
    {
      name: 'staff demotion',
      end: async ({ id }) => {
        const staff = await createUserWithToken({ isStaff: true });
        return send('PATCH', `/users/${id}/`, { token: staff.token, body: { is_staff: false } });
      },
    },
    {
      name: 'deleting the user',
      end: async ({ id }) => {
        const staff = await createUserWithToken({ isStaff: true });
        return send('DELETE', `/users/${id}/`, { token: staff.token });
      },
    },
  ];

  for (const { name, end } of endings) {
    it(`${name} ends every session of the user`, async () => {
      const user = await createUserWithToken({ isStaff: name === 'staff demotion' });
      const sessionsOfUser = [await startSession(user), await startSession(user)];
      const rotated = await rotate(sessionsOfUser[1]!.secret);
      const bystander = await startSession(await createUser());
      expect((await end(user)).status).toBeLessThan(300);
      await expectEnded(await refresh(sessionsOfUser[0]!.secret));
      await expectEnded(await refresh(rotated.secret));
      expect((await refresh(bystander.secret)).status).toBe(200);
    });
  }

  it('a new login after logout starts a session that works', async () => {
    const user = await createUser();
    const token = await obtainToken(user.username, user.password);
    await startSession(user);
    await send('POST', '/auth/logout/', { token });
    expect((await refresh((await startSession(user)).secret)).status).toBe(200);
  });
});

describe('access tokens of a session', () => {
  it('name the session (sid) and refresh only through it: /auth/refresh_token/ refuses them', async () => {
    const user = await createUser();
    const { secret, token } = await startSession(user);
    const [row] = await sessionRows(user.id);
    expect(decodeJwt(token).payload.sid).toBe(row!.family);
    const refreshed = await rotate(secret);
    expect(decodeJwt(refreshed.token).payload.sid).toBe(row!.family);
    const viaBearer = (candidate: string) =>
      call('/auth/refresh_token/', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token: candidate }),
      });
    const refused = {
      non_field_errors: ['This token belongs to a browser session: refresh it with /auth/session/refresh/.'],
    };
    for (const candidate of [token, refreshed.token]) {
      const response = await viaBearer(candidate);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual(refused);
    }
    await endSession(refreshed.secret);
    expect(await (await viaBearer(refreshed.token)).json()).toEqual(refused);
    // They remain access tokens for everything else.
    expect((await send('GET', '/users/me/', { token: refreshed.token })).status).toBe(200);
    const verified = await call('/auth/verify_token/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    expect(verified.status).toBe(200);
    // The tutorial's tokens carry no sid and refresh as before.
    const bearer = await obtainToken(user.username, user.password);
    expect(decodeJwt(bearer).payload.sid).toBeUndefined();
    expect((await viaBearer(bearer)).status).toBe(200);
  });
});

describe('the secret', () => {
  it('never appears in a response body or a log line', async () => {
    const lines: string[] = [];
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '));
      });
    }
    const user = await createUser();
    const secrets: string[] = [];
    const bodies: string[] = [];
    const keep = async (response: Response) => {
      bodies.push(await response.clone().text());
      for (const cookie of setCookies(response)) if (cookie.value) secrets.push(cookie.value);
      return response;
    };
    const login = await keep(await logIn(user));
    const first = sessionCookie(login).value;
    const second = sessionCookie(await keep(await refresh(first))).value;
    await keep(await refresh(first));
    await keep(await refresh(first, { origin: 'https://evil.example.com' }));
    // A database failure inside the refresh (the sessions table gone) is logged without values.
    const failing = proxyD1(env.DB, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (property === 'prepare') {
          return (statement: string) => target.prepare(statement.replaceAll('"sessions"', '"no_such_table"'));
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    expect((await keep(await refresh(second, { overrides: { DB: failing } }))).status).toBe(500);
    await keep(await endSession(second));
    expect(secrets.length).toBeGreaterThanOrEqual(2);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).toContain('SQLITE_ERROR');
    for (const secret of secrets) {
      const hash = await hashSecret(secret);
      for (const text of [...bodies, ...lines]) {
        expect(text).not.toContain(secret);
        expect(text).not.toContain(hash);
      }
    }
  });
});

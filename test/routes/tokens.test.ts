import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { getDb } from '../../src/db/client';
import { recordLogin } from '../../src/db/users';
import { users } from '../../src/db/schema';
import {
  accessTokenFor,
  activationTokenFor,
  call,
  callWithEnv,
  createUser,
  decodeJwt,
  obtainToken,
  postJson,
  uniqueName,
} from '../helpers';

const INVALID_CREDENTIALS = { non_field_errors: ['Unable to log in with provided credentials.'] };
const epoch = (iso: string) => Date.parse(iso) / 1000;

afterEach(() => {
  vi.useRealTimers();
});

describe.each(['/api-auth/', '/auth/obtain_token/'])('POST %s', (path) => {
  it('answers 200 {"token"} for an active user, from a JSON body', async () => {
    const user = await createUser();
    const response = await postJson(path, { username: user.username, password: user.password });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { token: string };
    expect(Object.keys(body)).toEqual(['token']);
    const { header, payload } = decodeJwt(body.token);
    expect(header).toEqual({ alg: 'HS256', typ: 'at+jwt', kid: expect.stringMatching(/^hs256-[\w-]{16}$/) });
    expect(payload).toMatchObject({ sub: String(user.id), user_id: user.id, username: user.username });
    expect(payload.exp).toBe((payload.iat as number) + 300);
    expect(payload.orig_iat).toBe(payload.iat);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('accepts a form body and works without the trailing slash', async () => {
    const user = await createUser();
    const response = await call(path.replace(/\/$/, ''), {
      method: 'POST',
      body: new URLSearchParams({ username: user.username, password: user.password }),
    });
    expect(response.status).toBe(200);
  });

  it('answers 400 naming the missing fields', async () => {
    const response = await postJson(path, {});
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      username: ['This field is required.'],
      password: ['This field is required.'],
    });
  });

  it('answers one body for a wrong password, an unknown user and an inactive user', async () => {
    const active = await createUser();
    const inactive = await createUser({ isActive: false });
    const attempts = [
      { username: active.username, password: 'wrong password' },
      { username: uniqueName('nobody'), password: 'whatever' },
      { username: inactive.username, password: inactive.password },
    ];
    for (const attempt of attempts) {
      const response = await postJson(path, attempt);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual(INVALID_CREDENTIALS);
    }
  });
});

describe('POST /api-auth/ and user enumeration', () => {
  it('does the same PBKDF2 work for an unknown username as for a wrong password', async () => {
    const user = await createUser();
    const iterationsPerLogin = async (username: string) => {
      const deriveBits = vi.spyOn(crypto.subtle, 'deriveBits');
      expect((await postJson('/api-auth/', { username, password: 'wrong password' })).status).toBe(400);
      const iterations = deriveBits.mock.calls.map(([algorithm]) => (algorithm as { iterations: number }).iterations);
      deriveBits.mockRestore();
      return iterations;
    };
    const known = await iterationsPerLogin(user.username);
    expect(known).toEqual([100_000]);
    expect(await iterationsPerLogin(uniqueName('nobody'))).toEqual(known);
  });
});

describe('POST /api-auth/ with imported Django password hashes', () => {
  it('logs in a user whose hash was made by Django (PBKDF2-SHA256, 100,000 iterations)', async () => {
    const user = await createUser({
      passwordHash: 'pbkdf2_sha256$100000$djangosalt123$wIulF+RYJMkLn80l+H0XdyqTITC9EX8pJpNsksbGdTI=',
    });
    expect(await obtainToken(user.username, 'tutorial-pass')).toMatch(/^ey/);
  });

  // Made by Django 3.2 (Debian's python3-django) at Django 2.1's 120,000 iterations: above
  // WebCrypto's 100,000, so checked in JavaScript (Django 5.2's 1,000,000 take the same path, ten
  // times longer; bench/ measures them).
  const DJANGO_120K = 'pbkdf2_sha256$120000$importsalt120000$q3fTLnkPktk/zJ/LwcnPuBACBMgonQ4Fy5LOoNRDha8=';
  const storedHash = async (id: number) =>
    (await env.DB.prepare('SELECT password FROM users WHERE id = ?').bind(id).first<string>('password'))!;

  it('logs in a user whose Django hash has more iterations than WebCrypto allows, and replaces it at the first login', async () => {
    const user = await createUser({ passwordHash: DJANGO_120K });
    const wrong = await postJson('/api-auth/', { username: user.username, password: 'not it' });
    expect(wrong.status).toBe(400);
    expect(await storedHash(user.id)).toBe(DJANGO_120K);

    expect(await obtainToken(user.username, 'tutorial-pass')).toMatch(/^ey/);
    const rehashed = await storedHash(user.id);
    expect(rehashed).toMatch(/^pbkdf2_sha256\$100000\$/);
    // From now on, the check is WebCrypto's at 100,000 iterations.
    const deriveBits = vi.spyOn(crypto.subtle, 'deriveBits');
    expect(await obtainToken(user.username, 'tutorial-pass')).toMatch(/^ey/);
    const iterations = deriveBits.mock.calls.map(([algorithm]) => (algorithm as { iterations: number }).iterations);
    deriveBits.mockRestore();
    expect(iterations).toEqual([100_000]);
    expect(await storedHash(user.id)).toBe(rehashed);
  }, 30_000);

  it('keeps a password changed while a login with the old hash was checked', async () => {
    const user = await createUser({
      passwordHash: 'pbkdf2_sha256$260000$importsalt260000$scl6IRe9NF9393b19/NFLNImScwYqhlUAhzULV9w910=',
    });
    await env.DB.prepare("UPDATE users SET password = 'pbkdf2_sha256$1$changed$AAAA' WHERE id = ?").bind(user.id).run();
    await recordLogin(getDb(env.DB), user.id, new Date(), {
      from: 'pbkdf2_sha256$260000$importsalt260000$scl6IRe9NF9393b19/NFLNImScwYqhlUAhzULV9w910=',
      to: 'pbkdf2_sha256$100000$new$BBBB',
    });
    expect(await storedHash(user.id)).toBe('pbkdf2_sha256$1$changed$AAAA');
  });

  it('refuses, with the usual 400 and never a 500, a hash with more iterations than supported', async () => {
    const user = await createUser({
      passwordHash: 'pbkdf2_sha256$2000001$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    });
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const deriveBits = vi.spyOn(crypto.subtle, 'deriveBits');
    const response = await postJson('/api-auth/', { username: user.username, password: 'anything' });
    const iterations = deriveBits.mock.calls.map(([algorithm]) => (algorithm as { iterations: number }).iterations);
    deriveBits.mockRestore();
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(INVALID_CREDENTIALS);
    // The PBKDF2 work of a real check, so the answer takes as long as for any other username.
    expect(iterations).toEqual([100_000]);
    expect(errors).toHaveBeenCalledTimes(1);
    const logged = JSON.parse(errors.mock.calls[0]![0] as string) as Record<string, unknown>;
    expect(logged).toMatchObject({ userId: user.id, requestId: response.headers.get('X-Request-Id') });
    expect(logged.reason).toContain('2000001 PBKDF2 iterations');
    expect(JSON.stringify(logged)).not.toContain(user.username);
    errors.mockRestore();
  });
});

describe('POST /auth/refresh_token/', () => {
  it('answers a new token that keeps orig_iat and expires later', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-03-01T08:00:00Z'));
    const user = await createUser();
    const first = await obtainToken(user.username, user.password);

    vi.setSystemTime(new Date('2026-03-01T08:04:00Z'));
    const response = await postJson('/auth/refresh_token/', { token: first });
    expect(response.status).toBe(200);
    const { token } = (await response.json()) as { token: string };
    const before = decodeJwt(first).payload;
    const after = decodeJwt(token).payload;
    expect(after.orig_iat).toBe(epoch('2026-03-01T08:00:00Z'));
    expect(after.orig_iat).toBe(before.orig_iat);
    expect(after.iat).toBe(epoch('2026-03-01T08:04:00Z'));
    expect(after.exp).toBe(epoch('2026-03-01T08:09:00Z'));
    expect(after.jti).not.toBe(before.jti);
  });

  it('answers 400 "Signature has expired." for an expired token', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-03-01T08:00:00Z'));
    const user = await createUser();
    const token = await obtainToken(user.username, user.password);
    vi.setSystemTime(new Date('2026-03-01T08:05:00Z'));
    const response = await postJson('/auth/refresh_token/', { token });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ non_field_errors: ['Signature has expired.'] });
  });

  it('answers 400 "Refresh has expired." once orig_iat + JWT_REFRESH_EXPIRATION_DELTA has passed', async () => {
    const user = await createUser();
    const now = Math.floor(Date.now() / 1000);
    const stillRefreshable = await accessTokenFor(user, { origIat: now - 7 * 86400 + 5 });
    expect((await postJson('/auth/refresh_token/', { token: stillRefreshable })).status).toBe(200);

    const tooOld = await accessTokenFor(user, { origIat: now - 7 * 86400 - 1 });
    const response = await postJson('/auth/refresh_token/', { token: tooOld });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ non_field_errors: ['Refresh has expired.'] });
  });

  it('refuses an activation token', async () => {
    const user = await createUser();
    const response = await postJson('/auth/refresh_token/', {
      token: await activationTokenFor(user.id, crypto.randomUUID()),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ non_field_errors: ['Error decoding signature.'] });
  });

  it('refuses a token whose user was deleted or deactivated', async () => {
    const deleted = await createUser();
    const deletedToken = await obtainToken(deleted.username, deleted.password);
    await getDb(env.DB).delete(users).where(eq(users.id, deleted.id));
    const gone = await postJson('/auth/refresh_token/', { token: deletedToken });
    expect(gone.status).toBe(400);
    expect(await gone.json()).toEqual({ non_field_errors: ["User doesn't exist."] });

    const disabled = await createUser();
    const disabledToken = await obtainToken(disabled.username, disabled.password);
    await getDb(env.DB).update(users).set({ isActive: false }).where(eq(users.id, disabled.id));
    const refused = await postJson('/auth/refresh_token/', { token: disabledToken });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ non_field_errors: ['User account is disabled.'] });
  });

  it('answers 400 when the token is missing', async () => {
    const response = await postJson('/auth/refresh_token/', {});
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ token: ['This field is required.'] });
  });

  it('answers 403 when JWT_ALLOW_REFRESH is false', async () => {
    const user = await createUser();
    const token = await accessTokenFor(user);
    const response = await callWithEnv({ JWT_ALLOW_REFRESH: 'false' }, '/auth/refresh_token/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ detail: 'Token refresh is disabled.' });
  });

  it("ignores a stale Authorization header, as the tutorial's token views do", async () => {
    const user = await createUser();
    const token = await obtainToken(user.username, user.password);
    const response = await postJson('/auth/refresh_token/', { token }, { Authorization: 'Bearer expired.or.garbage' });
    expect(response.status).toBe(200);
  });
});

describe('POST /auth/verify_token/', () => {
  it('answers 200 with the same token when it is valid', async () => {
    const user = await createUser();
    const token = await obtainToken(user.username, user.password);
    const response = await postJson('/auth/verify_token/', { token });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ token });
  });

  it('answers 400 for an expired, a malformed and an activation token', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-03-01T08:00:00Z'));
    const user = await createUser();
    const expired = await accessTokenFor(user);
    vi.setSystemTime(new Date('2026-03-01T09:00:00Z'));
    const cases: [string, string][] = [
      [expired, 'Signature has expired.'],
      ['abc.def.ghi', 'Error decoding signature.'],
      [await activationTokenFor(user.id, crypto.randomUUID()), 'Error decoding signature.'],
    ];
    for (const [token, message] of cases) {
      const response = await postJson('/auth/verify_token/', { token });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ non_field_errors: [message] });
    }
  });
});

describe('last_login', () => {
  it('is set at each successful login, after the response (not on a failed one)', async () => {
    const user = await createUser();
    const lastLogin = async () =>
      (await getDb(env.DB).query.users.findFirst({ columns: { lastLogin: true }, where: eq(users.id, user.id) }))!
        .lastLogin;
    await postJson('/api-auth/', { username: user.username, password: 'wrong password' });
    expect(await lastLogin()).toBeNull();
    const before = Date.now();
    expect((await postJson('/api-auth/', { username: user.username, password: user.password })).status).toBe(200);
    let recorded = await lastLogin();
    for (let i = 0; i < 50 && recorded === null; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      recorded = await lastLogin();
    }
    expect(recorded!.getTime()).toBeGreaterThanOrEqual(before - 1000);
  });
});

/**
 * The authenticator app and recovery codes through the real app and D1: enrolment, the staged
 * login, replays and limits, step-up, the token kinds, and the lifecycle rules of SPEC.md.
 * The clock is fake (Date only) so a test can move to the next TOTP time step.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { timeStep, totpCode } from '../../src/auth/totp';
import { getDb } from '../../src/db/client';
import { totpFactors, users } from '../../src/db/schema';
import {
  accessTokenFor,
  callWithEnv,
  createUser,
  createUserWithToken,
  decodeJwt,
  postJson,
  recordMail,
  send,
  SITE_URL,
  type TestUser,
} from '../helpers';

const db = () => getDb(env.DB);
const INVALID_CREDENTIALS = { non_field_errors: ['Unable to log in with provided credentials.'] };
const INVALID_CODE = { code: ['The code is not valid.'] };
const LOGIN_OVER = { non_field_errors: ['This login has used up its tries or has ended: log in again.'] };
const REAUTH_REQUIRED = { detail: expect.any(String), code: 'reauth_required' };

// The start of a time step, so a test has the whole step before the clock moves.
const START = 1_900_000_020_000;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(START);
});

afterEach(() => {
  vi.useRealTimers();
});

/** Moves the clock to the next time step: its code has not been used yet. */
const nextStep = () => vi.setSystemTime(Date.now() + 30_000);
const codeNow = (secret: string) => totpCode(secret, timeStep(new Date()));

interface Enrolled extends TestUser {
  token: string;
  secret: string;
  recoveryCodes: string[];
}

/** A user who enrolled an authenticator app with a fresh bearer token; the clock is one step on. */
async function enrolled(options: Parameters<typeof createUser>[0] = {}): Promise<Enrolled> {
  const user = await createUserWithToken(options);
  const started = await send('POST', '/auth/mfa/totp/', { token: user.token });
  expect(started.status).toBe(200);
  const { secret } = (await started.json()) as { secret: string };
  const confirmed = await send('POST', '/auth/mfa/totp/confirm/', {
    token: user.token,
    body: { code: await codeNow(secret) },
  });
  expect(confirmed.status).toBe(200);
  const { recovery_codes } = (await confirmed.json()) as { recovery_codes: string[] };
  nextStep();
  // Confirming raised the token version: later calls use a token of the new version.
  const token = await accessTokenFor({ ...user, tokenVersion: user.tokenVersion + 1 });
  return { ...user, tokenVersion: user.tokenVersion + 1, token, secret, recoveryCodes: recovery_codes };
}

interface MfaRequired {
  mfa_required: true;
  mfa_token: string;
  methods: string[];
}

async function passwordStep(user: TestUser, path = '/api-auth/'): Promise<MfaRequired> {
  const response = await postJson(path, { username: user.username, password: user.password });
  expect(response.status).toBe(200);
  return (await response.json()) as MfaRequired;
}

const verify = (mfaToken: string, code: string) => postJson('/auth/mfa/verify/', { mfa_token: mfaToken, code });

describe('enrolling an authenticator app', () => {
  it('shows a 160-bit secret and its otpauth URI, and changes nothing until a first code confirms it', async () => {
    const user = await createUserWithToken();
    const started = await send('POST', '/auth/mfa/totp/', { token: user.token });
    expect(started.status).toBe(200);
    const { secret, otpauth_url } = (await started.json()) as { secret: string; otpauth_url: string };
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(otpauth_url);
    expect(uri.searchParams.get('secret')).toBe(secret);
    expect(uri.searchParams.get('issuer')).toBe(new URL(SITE_URL).host);
    expect(decodeURIComponent(uri.pathname)).toBe(`/${new URL(SITE_URL).host}:${user.username}`);

    const status = await send('GET', '/auth/mfa/', { token: user.token });
    expect(await status.json()).toEqual({ totp: false, passkeys: 0, recovery_codes_left: 0 });
    expect((await postJson('/api-auth/', { username: user.username, password: user.password })).status).toBe(200);
    expect(await (await postJson('/api-auth/', { username: user.username, password: user.password })).json()).toEqual({
      token: expect.any(String),
    });

    const wrong = await send('POST', '/auth/mfa/totp/confirm/', { token: user.token, body: { code: '000000' } });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual(INVALID_CODE);
    const confirmed = await send('POST', '/auth/mfa/totp/confirm/', {
      token: user.token,
      body: { code: await codeNow(secret) },
    });
    expect(confirmed.status).toBe(200);
    const { recovery_codes } = (await confirmed.json()) as { recovery_codes: string[] };
    expect(recovery_codes).toHaveLength(10);
    expect(new Set(recovery_codes).size).toBe(10);
    for (const code of recovery_codes) expect(code).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
  });

  it('keeps the secret sealed in D1: the stored row does not contain it', async () => {
    const user = await enrolled();
    const [row] = await db().select().from(totpFactors).where(eq(totpFactors.userId, user.id));
    expect(row!.secret).toMatch(/^v1\./);
    expect(row!.secret).not.toContain(user.secret);
    expect(row!.pendingSecret).toBeNull();
    const { results } = await env.DB.prepare('select * from recovery_codes where user_id = ?').bind(user.id).all();
    expect(results).toHaveLength(10);
    const stored = JSON.stringify(results);
    for (const code of user.recoveryCodes) {
      expect(stored).not.toContain(code);
      expect(stored).not.toContain(code.replaceAll('-', '').toUpperCase());
    }
  });

  it('refuses a confirmation without a pending enrolment, and a second confirmation', async () => {
    const user = await createUserWithToken();
    const none = await send('POST', '/auth/mfa/totp/confirm/', { token: user.token, body: { code: '123456' } });
    expect(none.status).toBe(400);
    const done = await enrolled();
    const again = await send('POST', '/auth/mfa/totp/confirm/', {
      token: done.token,
      body: { code: await codeNow(done.secret) },
    });
    expect(again.status).toBe(400);
  });

  it('answers 400 in field form for a missing or malformed code, never a 5xx', async () => {
    const user = await createUserWithToken();
    await send('POST', '/auth/mfa/totp/', { token: user.token });
    for (const body of [{}, { code: 123456 }, { code: '' }, { code: 'x'.repeat(65) }, { code: null }]) {
      const response = await send('POST', '/auth/mfa/totp/confirm/', { token: user.token, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(Object.keys((await response.json()) as object)).toEqual(['code']);
    }
  });

  it("ends the user's other refresh chains", async () => {
    const user = await createUserWithToken();
    const other = await accessTokenFor(user);
    const started = await send('POST', '/auth/mfa/totp/', { token: user.token });
    const { secret } = (await started.json()) as { secret: string };
    await send('POST', '/auth/mfa/totp/confirm/', { token: user.token, body: { code: await codeNow(secret) } });
    const refreshed = await postJson('/auth/refresh_token/', { token: other });
    expect(refreshed.status).toBe(400);
    expect(await refreshed.json()).toEqual({ non_field_errors: ['Token has been revoked.'] });
  });
});

describe('the login of a user with an authenticator app', () => {
  it('answers mfa_required and an mfa+jwt token instead of a token, on every login path', async () => {
    const user = await enrolled();
    for (const path of ['/api-auth/', '/auth/obtain_token/']) {
      const step = await passwordStep(user, path);
      expect(step).toEqual({ mfa_required: true, mfa_token: expect.any(String), methods: ['totp', 'recovery_code'] });
      expect(decodeJwt(step.mfa_token).header.typ).toBe('mfa+jwt');
    }
    const session = await postJson(
      '/auth/session/',
      { username: user.username, password: user.password },
      { Origin: SITE_URL },
    );
    expect(session.status).toBe(200);
    expect(session.headers.getSetCookie()).toEqual([]);
    expect(await session.json()).toMatchObject({ mfa_required: true });
  });

  it('answers a wrong password exactly as for an unknown user', async () => {
    const user = await enrolled();
    const wrong = await postJson('/api-auth/', { username: user.username, password: 'not the password' });
    const unknown = await postJson('/api-auth/', { username: 'nobody-at-all', password: 'not the password' });
    expect(wrong.status).toBe(400);
    expect(unknown.status).toBe(400);
    expect(await wrong.json()).toEqual(INVALID_CREDENTIALS);
    expect(await unknown.json()).toEqual(INVALID_CREDENTIALS);
  });

  it('gives the token for a code, with amr pwd+otp+mfa and auth_time; the code works once', async () => {
    const user = await enrolled();
    const step = await passwordStep(user);
    const code = await codeNow(user.secret);
    const verified = await verify(step.mfa_token, code);
    expect(verified.status).toBe(200);
    const { token } = (await verified.json()) as { token: string };
    const { payload } = decodeJwt(token);
    expect(payload.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(payload.auth_time).toBe(Math.floor(Date.now() / 1000));
    expect((await send('GET', '/users/me/', { token })).status).toBe(200);

    // The same code again, in a new login: refused (its time step was used).
    const replay = await verify((await passwordStep(user)).mfa_token, code);
    expect(replay.status).toBe(400);
    expect(await replay.json()).toEqual(INVALID_CODE);
    // The same mfa_token after it gave a token: refused.
    nextStep();
    const reused = await verify(step.mfa_token, await codeNow(user.secret));
    expect(reused.status).toBe(400);
    expect(await reused.json()).toEqual(LOGIN_OVER);
    // ...before it reads the code: a recovery code sent with it is not used up.
    expect((await verify(step.mfa_token, user.recoveryCodes[0]!)).status).toBe(400);
    expect((await verify((await passwordStep(user)).mfa_token, user.recoveryCodes[0]!)).status).toBe(200);
  });

  it('takes one code once even when two requests send it at the same time', async () => {
    const user = await enrolled();
    const [first, second] = await Promise.all([passwordStep(user), passwordStep(user)]);
    const code = await codeNow(user.secret);
    const answers = await Promise.all([verify(first.mfa_token, code), verify(second.mfa_token, code)]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 400]);
  });

  it('accepts the code of one step before or after now, not two', async () => {
    const user = await enrolled();
    nextStep();
    nextStep();
    const now = timeStep(new Date());
    expect((await verify((await passwordStep(user)).mfa_token, await totpCode(user.secret, now - 2))).status).toBe(400);
    expect((await verify((await passwordStep(user)).mfa_token, await totpCode(user.secret, now + 2))).status).toBe(400);
    expect((await verify((await passwordStep(user)).mfa_token, await totpCode(user.secret, now - 1))).status).toBe(200);
    expect((await verify((await passwordStep(user)).mfa_token, await totpCode(user.secret, now + 1))).status).toBe(200);
  });

  it('allows five tries per mfa_token', async () => {
    const user = await enrolled();
    const step = await passwordStep(user);
    for (let i = 0; i < 5; i++) expect((await verify(step.mfa_token, '000000')).status).toBe(400);
    const sixth = await verify(step.mfa_token, await codeNow(user.secret));
    expect(sixth.status).toBe(400);
    expect(await sixth.json()).toEqual(LOGIN_OVER);
  });

  it('locks the user out for 15 minutes after 10 wrong codes, whatever the login', async () => {
    const user = await enrolled();
    for (let login = 0; login < 2; login++) {
      const step = await passwordStep(user);
      for (let i = 0; i < 5; i++) expect((await verify(step.mfa_token, '000000')).status).toBe(400);
    }
    const locked = await verify((await passwordStep(user)).mfa_token, await codeNow(user.secret));
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(Number(locked.headers.get('Retry-After'))).toBeLessThanOrEqual(900);
    vi.setSystemTime(Date.now() + 901_000);
    const later = await verify((await passwordStep(user)).mfa_token, await codeNow(user.secret));
    expect(later.status).toBe(200);
  });

  it('refuses an expired mfa_token (5 minutes)', async () => {
    const user = await enrolled();
    const step = await passwordStep(user);
    vi.setSystemTime(Date.now() + 301_000);
    const late = await verify(step.mfa_token, await codeNow(user.secret));
    expect(late.status).toBe(400);
    expect(await late.json()).toEqual({ non_field_errors: ['Signature has expired.'] });
  });

  it('ends with the session cookie for a session login, and refreshes keep amr and auth_time', async () => {
    const user = await enrolled();
    const login = await postJson(
      '/auth/session/',
      { username: user.username, password: user.password },
      { Origin: SITE_URL },
    );
    const { mfa_token } = (await login.json()) as MfaRequired;
    const verified = await verify(mfa_token, await codeNow(user.secret));
    expect(verified.status).toBe(200);
    const cookie = verified.headers.getSetCookie()[0]!.split(';')[0]!;
    expect(cookie).toMatch(/=/);
    const { token } = (await verified.json()) as { token: string };
    const loggedInAt = decodeJwt(token).payload.auth_time;

    vi.setSystemTime(Date.now() + 60_000);
    const rotated = await postJson('/auth/session/refresh/', {}, { Cookie: cookie, Origin: SITE_URL });
    expect(rotated.status).toBe(200);
    const fromSession = decodeJwt(((await rotated.json()) as { token: string }).token).payload;
    expect(fromSession.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(fromSession.auth_time).toBe(loggedInAt);

    // A bearer login's token refreshes through the tutorial's route, keeping both too.
    nextStep();
    const bearer = await verify((await passwordStep(user)).mfa_token, await codeNow(user.secret));
    const bearerToken = ((await bearer.json()) as { token: string }).token;
    vi.setSystemTime(Date.now() + 60_000);
    const refreshed = await postJson('/auth/refresh_token/', { token: bearerToken });
    expect(refreshed.status).toBe(200);
    const fromRefresh = decodeJwt(((await refreshed.json()) as { token: string }).token).payload;
    expect(fromRefresh.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(fromRefresh.auth_time).toBe(decodeJwt(bearerToken).payload.auth_time);
  });

  it('still needs the code after a password reset', async () => {
    const user = await enrolled();
    const sent = recordMail();
    const post = (path: string, body: unknown) =>
      callWithEnv({}, path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post('/auth/password/reset/', { email: `${user.username}@example.com` })).status).toBe(200);
    const [, resetToken] = /\/app\/password-reset\/([\w.-]+)/.exec(sent[0]!.text)!;
    const reset = await post('/auth/password/reset/confirm/', {
      token: resetToken,
      new_password: 'a brand new passphrase',
    });
    expect(reset.status).toBe(200);
    const step = await passwordStep({ ...user, password: 'a brand new passphrase' });
    expect(step.mfa_required).toBe(true);
  });
});

describe('recovery codes', () => {
  it('each log in once, typed in any case with or without dashes', async () => {
    const user = await enrolled();
    const [first, second] = user.recoveryCodes;
    const used = await verify((await passwordStep(user)).mfa_token, first!);
    expect(used.status).toBe(200);
    expect(decodeJwt(((await used.json()) as { token: string }).token).payload.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect((await verify((await passwordStep(user)).mfa_token, first!)).status).toBe(400);
    const typed = second!.replaceAll('-', '').toUpperCase();
    expect((await verify((await passwordStep(user)).mfa_token, typed)).status).toBe(200);
    const status = await send('GET', '/auth/mfa/', { token: user.token });
    expect(await status.json()).toEqual({ totp: true, passkeys: 0, recovery_codes_left: 8 });
  });

  it('are replaced by a regeneration: the old ones stop working', async () => {
    const user = await enrolled();
    const regenerated = await send('POST', '/auth/mfa/recovery-codes/', { token: user.token });
    expect(regenerated.status).toBe(200);
    const { recovery_codes } = (await regenerated.json()) as { recovery_codes: string[] };
    expect(recovery_codes).toHaveLength(10);
    expect(recovery_codes.some((code) => user.recoveryCodes.includes(code))).toBe(false);
    expect((await verify((await passwordStep(user)).mfa_token, user.recoveryCodes[0]!)).status).toBe(400);
    expect((await verify((await passwordStep(user)).mfa_token, recovery_codes[0]!)).status).toBe(200);
  });

  it('are regenerated only with an authenticator app enrolled', async () => {
    const user = await createUserWithToken();
    expect((await send('POST', '/auth/mfa/recovery-codes/', { token: user.token })).status).toBe(400);
  });

  it('of one user do not log in another', async () => {
    const owner = await enrolled();
    const other = await enrolled();
    expect((await verify((await passwordStep(other)).mfa_token, owner.recoveryCodes[0]!)).status).toBe(400);
  });
});

describe('removing the authenticator app', () => {
  it('turns the login back into the password alone, and deletes the recovery codes', async () => {
    const user = await enrolled();
    const removed = await send('DELETE', '/auth/mfa/totp/', { token: user.token });
    expect(removed.status).toBe(204);
    const login = await postJson('/api-auth/', { username: user.username, password: user.password });
    expect(await login.json()).toEqual({ token: expect.any(String) });
    const token = await accessTokenFor({ ...user, tokenVersion: user.tokenVersion + 1 });
    expect(await (await send('GET', '/auth/mfa/', { token })).json()).toEqual({
      totp: false,
      passkeys: 0,
      recovery_codes_left: 0,
    });
    expect((await send('DELETE', '/auth/mfa/totp/', { token })).status).toBe(404);
  });

  it("ends the user's other refresh chains", async () => {
    const user = await enrolled();
    const other = await accessTokenFor(user);
    await send('DELETE', '/auth/mfa/totp/', { token: user.token });
    expect((await postJson('/auth/refresh_token/', { token: other })).status).toBe(400);
  });
});

describe('token kinds', () => {
  it('an mfa_token is no access token, and an access token is no mfa_token', async () => {
    const user = await enrolled();
    const { mfa_token } = await passwordStep(user);
    for (const [method, path] of [
      ['GET', '/auth/mfa/'],
      ['GET', '/users/me/'],
      ['POST', '/auth/mfa/totp/'],
    ] as const) {
      expect((await send(method, path, { token: mfa_token })).status, path).toBe(401);
    }
    expect((await postJson('/auth/refresh_token/', { token: mfa_token })).status).toBe(400);
    expect((await postJson('/auth/verify_token/', { token: mfa_token })).status).toBe(400);
    const asMfa = await verify(user.token, await codeNow(user.secret));
    expect(asMfa.status).toBe(400);
    expect(await asMfa.json()).toEqual({ non_field_errors: ['Error decoding signature.'] });
  });

  it("an mfa_token of one user does not take another user's code", async () => {
    const alice = await enrolled();
    const bob = await enrolled();
    const { mfa_token } = await passwordStep(alice);
    expect((await verify(mfa_token, await codeNow(bob.secret))).status).toBe(400);
  });
});

describe('step-up: a recent login for sensitive changes', () => {
  const staleToken = (user: TestUser) =>
    accessTokenFor(user, { authentication: { amr: ['pwd'], authTime: Math.floor(Date.now() / 1000) - 601 } });

  it('answers 403 reauth_required to a login older than REAUTH_MAX_AGE on every factor change', async () => {
    const user = await enrolled();
    const token = await staleToken(user);
    for (const [method, path, body] of [
      ['POST', '/auth/mfa/totp/', undefined],
      ['POST', '/auth/mfa/totp/confirm/', { code: '123456' }],
      ['DELETE', '/auth/mfa/totp/', undefined],
      ['POST', '/auth/mfa/recovery-codes/', undefined],
    ] as const) {
      const response = await send(method, path, { token, body });
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(await response.json()).toEqual(REAUTH_REQUIRED);
    }
    // Reading is not a change.
    expect((await send('GET', '/auth/mfa/', { token })).status).toBe(200);
    // Ten minutes exactly is still recent.
    const edge = await accessTokenFor(user, {
      authentication: { amr: ['pwd'], authTime: Math.floor(Date.now() / 1000) - 600 },
    });
    expect((await send('POST', '/auth/mfa/recovery-codes/', { token: edge })).status).toBe(200);
  });

  it('guards a change of password or email on /users/me/ too, not a read', async () => {
    const user = await createUser();
    const token = await staleToken(user);
    for (const body of [
      { email: 'new@example.com' },
      { password: 'a new passphrase', current_password: user.password },
    ]) {
      const response = await send('PATCH', '/users/me/', { token, body });
      expect(response.status, JSON.stringify(body)).toBe(403);
      expect(await response.json()).toEqual(REAUTH_REQUIRED);
    }
    expect((await send('PATCH', '/users/me/', { token, body: {} })).status).toBe(200);
    const [row] = await db().select({ email: users.email }).from(users).where(eq(users.id, user.id));
    expect(row!.email).toBe(`${user.username}@example.com`);
  });

  it('follows REAUTH_MAX_AGE', async () => {
    const user = await createUserWithToken();
    const token = await accessTokenFor(user, {
      authentication: { amr: ['pwd'], authTime: Math.floor(Date.now() / 1000) - 120 },
    });
    const short = await callWithEnv({ REAUTH_MAX_AGE: '1m' }, '/auth/mfa/totp/', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(short.status).toBe(403);
    expect((await send('POST', '/auth/mfa/totp/', { token })).status).toBe(200);
  });

  it('POST /auth/reauth/ with the password gives a fresh auth_time and keeps amr', async () => {
    const user = await enrolled();
    const token = await accessTokenFor(user, {
      authentication: { amr: ['pwd', 'otp', 'mfa'], authTime: Math.floor(Date.now() / 1000) - 3600 },
    });
    const wrong = await send('POST', '/auth/reauth/', { token, body: { password: 'not it' } });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({ password: ['The password is not correct.'] });
    const renewed = await send('POST', '/auth/reauth/', { token, body: { password: user.password } });
    expect(renewed.status).toBe(200);
    const fresh = ((await renewed.json()) as { token: string }).token;
    expect(decodeJwt(fresh).payload).toMatchObject({
      amr: ['pwd', 'otp', 'mfa'],
      auth_time: Math.floor(Date.now() / 1000),
      user_id: user.id,
    });
    expect((await send('POST', '/auth/mfa/recovery-codes/', { token: fresh })).status).toBe(200);
  });

  it('POST /auth/reauth/ with a code of the authenticator app, once per step', async () => {
    const user = await enrolled();
    const token = await staleToken(user);
    const code = await codeNow(user.secret);
    const renewed = await send('POST', '/auth/reauth/', { token, body: { code } });
    expect(renewed.status).toBe(200);
    const replayed = await send('POST', '/auth/reauth/', { token, body: { code } });
    expect(replayed.status).toBe(400);
    expect(await replayed.json()).toEqual(INVALID_CODE);
  });

  it('POST /auth/reauth/ needs exactly one of password and code', async () => {
    const user = await createUserWithToken();
    for (const body of [{}, { password: user.password, code: '123456' }, { password: 5 }]) {
      const response = await send('POST', '/auth/reauth/', { token: user.token, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
    expect((await send('POST', '/auth/reauth/', { body: { password: user.password } })).status).toBe(401);
  });

  it('renews the browser session too: its next refresh carries the new auth_time', async () => {
    const user = await createUser();
    const login = await postJson(
      '/auth/session/',
      { username: user.username, password: user.password },
      { Origin: SITE_URL },
    );
    const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
    const { token } = (await login.json()) as { token: string };
    vi.setSystemTime(Date.now() + 3600_000);
    const renewed = await send('POST', '/auth/reauth/', {
      token: await refreshedSessionToken(cookie),
      body: { password: user.password },
    });
    expect(renewed.status).toBe(200);
    const rotated = await postJson('/auth/session/refresh/', {}, { Cookie: cookie, Origin: SITE_URL });
    expect(decodeJwt(((await rotated.json()) as { token: string }).token).payload.auth_time).toBe(
      Math.floor(Date.now() / 1000),
    );
    expect(decodeJwt(token).payload.auth_time).toBeLessThan(Math.floor(Date.now() / 1000));
  });
});

/** The access token a session refresh answers now (the old one has expired). */
async function refreshedSessionToken(cookie: string): Promise<string> {
  const response = await postJson('/auth/session/refresh/', {}, { Cookie: cookie, Origin: SITE_URL });
  expect(response.status).toBe(200);
  return ((await response.json()) as { token: string }).token;
}

describe('staff and second factors', () => {
  it("staff remove a user's factors (account recovery); the user's sessions end", async () => {
    const user = await enrolled();
    const chain = await accessTokenFor(user);
    const staff = await createUserWithToken({ isStaff: true });
    const removed = await send('DELETE', `/users/${user.id}/mfa/`, { token: staff.token });
    expect(removed.status).toBe(204);
    const login = await postJson('/api-auth/', { username: user.username, password: user.password });
    expect(await login.json()).toEqual({ token: expect.any(String) });
    expect((await postJson('/auth/refresh_token/', { token: chain })).status).toBe(400);
    const [row] = await db().select({ mfaEnabled: users.mfaEnabled }).from(users).where(eq(users.id, user.id));
    expect(row!.mfaEnabled).toBe(false);
  });

  it('refuses anyone but staff (403), and 404 for no such user', async () => {
    const user = await enrolled();
    const other = await createUserWithToken();
    const refused = await send('DELETE', `/users/${user.id}/mfa/`, { token: other.token });
    expect(refused.status).toBe(403);
    expect((await send('DELETE', `/users/${user.id}/mfa/`, { token: user.token })).status).toBe(403);
    expect(await passwordStep(user)).toMatchObject({ mfa_required: true });
    const staff = await createUserWithToken({ isStaff: true });
    expect((await send('DELETE', '/users/999999999/mfa/', { token: staff.token })).status).toBe(404);
  });

  it('with MFA_REQUIRED_FOR_STAFF, staff rights need mfa in amr', async () => {
    const staff = await createUser({ isStaff: true });
    const target = await createUser();
    const deactivate = (token: string) =>
      callWithEnv({ MFA_REQUIRED_FOR_STAFF: 'true' }, `/users/${target.id}/`, {
        method: 'PATCH',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ is_active: true }),
      });
    const passwordOnly = await accessTokenFor(staff);
    expect((await deactivate(passwordOnly)).status).toBe(403);
    const withMfa = await accessTokenFor(staff, {
      authentication: { amr: ['pwd', 'otp', 'mfa'], authTime: Math.floor(Date.now() / 1000) },
    });
    expect((await deactivate(withMfa)).status).toBe(200);
    // Without the setting, a password is enough, as before.
    expect(
      (await send('PATCH', `/users/${target.id}/`, { token: passwordOnly, body: { is_active: true } })).status,
    ).toBe(200);
  });
});

/** Password reset by email, through the real app, the real binding (pass-through spy) and D1. */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hashPassword, passwordFingerprint } from '../../src/auth/passwords';
import { getDb } from '../../src/db/client';
import { users } from '../../src/db/schema';
import {
  accessTokenFor,
  activationTokenFor,
  callWithEnv,
  createUser,
  obtainToken,
  postJson,
  proxyD1,
  recordMail,
  send,
  SITE_URL,
} from '../helpers';
import { now, signedWithServiceKey } from '../security/forge';

const REQUEST_ANSWER = { detail: 'If an account uses that email, a link to reset its password is on its way.' };
const INVALID_LINK = {
  token: ['The password reset link was invalid, possibly because it has already been used.'],
};

afterEach(() => {
  vi.restoreAllMocks();
});

const post = (path: string, body: unknown) =>
  callWithEnv({}, path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

async function resetLink(email: string) {
  const sent = recordMail();
  const response = await post('/auth/password/reset/', { email });
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual(REQUEST_ANSWER);
  expect(sent).toHaveLength(1);
  const [, token] = /\/app\/password-reset\/([\w.-]+)/.exec(sent[0]!.text)!;
  return { mail: sent[0]!, token: token! };
}

const confirm = (token: string, newPassword = 'a brand new passphrase') =>
  post('/auth/password/reset/confirm/', { token, new_password: newPassword });

describe('POST /auth/password/reset/', () => {
  it('mails a link to the app reset page, valid 1 hour, that sets the password once', async () => {
    const user = await createUser();
    const email = `${user.username}@example.com`;
    const { mail, token } = await resetLink(email);
    expect(mail).toMatchObject({ to: email, subject: 'Reset your password' });
    expect(mail.text).toContain(`${SITE_URL}/app/password-reset/`);
    expect(mail.text).toContain('expires in 1 hour');

    const done = await confirm(token);
    expect(done.status).toBe(200);
    expect(await done.json()).toEqual({ detail: 'Your password has been set. You may log in now.' });
    expect((await postJson('/api-auth/', { username: user.username, password: user.password })).status).toBe(400);
    expect(await obtainToken(user.username, 'a brand new passphrase')).toMatch(/^ey/);

    const again = await confirm(token, 'yet another passphrase');
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual(INVALID_LINK);
  });

  it('answers the same for an unknown address and an inactive account, and mails nothing', async () => {
    const inactive = await createUser({ isActive: false });
    const sent = recordMail();
    for (const email of ['nobody@example.com', `${inactive.username}@example.com`]) {
      const response = await post('/auth/password/reset/', { email });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual(REQUEST_ANSWER);
    }
    expect(sent).toHaveLength(0);
  });

  it('ends every refresh chain of the user', async () => {
    const user = await createUser();
    const before = await obtainToken(user.username, user.password);
    const { token } = await resetLink(`${user.username}@example.com`);
    expect((await confirm(token)).status).toBe(200);
    const refresh = await postJson('/auth/refresh_token/', { token: before });
    expect(await refresh.json()).toEqual({ non_field_errors: ['Token has been revoked.'] });
  });

  it('kills a link issued before a later password change', async () => {
    const user = await createUserWithPassword();
    const { token } = await resetLink(`${user.username}@example.com`);
    const changed = await send('PATCH', '/users/me/', {
      token: await accessTokenFor(user),
      body: { password: 'changed in the profile', current_password: user.password },
    });
    expect(changed.status).toBe(200);
    const response = await confirm(token);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(INVALID_LINK);
  });

  it('sets nothing when the password changed between the check and the write (a concurrent use)', async () => {
    const user = await createUser();
    const { token } = await resetLink(`${user.username}@example.com`);
    const concurrentHash = await hashPassword('set by a concurrent request', 1);
    // A D1 binding on which another request changes the password just before the batch with our
    // write runs.
    const changeFirst = () =>
      getDb(env.DB).update(users).set({ password: concurrentHash }).where(eq(users.id, user.id));
    let writing = false;
    const racing = proxyD1(env.DB, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (property === 'prepare') {
          return (query: string) => {
            if (query.startsWith('update "users" set "password"')) writing = true;
            return target.prepare(query);
          };
        }
        if (property === 'batch') {
          return async (statements: D1PreparedStatement[]) => {
            if (writing) await changeFirst();
            return target.batch(statements);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const response = await callWithEnv({ DB: racing }, '/auth/password/reset/confirm/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token, new_password: 'a brand new passphrase' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(INVALID_LINK);
    expect(await obtainToken(user.username, 'set by a concurrent request')).toMatch(/^ey/);
  });

  it('applies the password rules', async () => {
    const user = await createUser();
    const { token } = await resetLink(`${user.username}@example.com`);
    const response = await confirm(token, '12345678');
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      new_password: ['This password is too common.', 'This password is entirely numeric.'],
    });
  });

  it('never mixes token kinds: activation and access tokens are not reset links, nor the reverse', async () => {
    const user = await createUser();
    for (const other of [await activationTokenFor(user.id, crypto.randomUUID()), await accessTokenFor(user)]) {
      const response = await confirm(other);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual(INVALID_LINK);
    }
    const { token } = await resetLink(`${user.username}@example.com`);
    expect((await postJson('/api-activate/', { token })).status).toBe(401);
    expect((await send('GET', '/users/me/', { token })).status).toBe(401);
    expect((await postJson('/auth/refresh_token/', { token })).status).toBe(400);
  });

  it('is rate limited per address', async () => {
    recordMail();
    const statuses = [];
    for (let i = 0; i < 11; i++)
      statuses.push((await post('/auth/password/reset/', { email: 'target@example.com' })).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(200));
    expect(statuses[10]).toBe(429);
  });
});

const createUserWithPassword = () => createUser({ password: 'the first passphrase' });

describe('password reset edge cases', () => {
  it('refuses a token of another kind even when it carries every reset claim', async () => {
    const user = await createUser();
    const [row] = await getDb(env.DB).select({ password: users.password }).from(users).where(eq(users.id, user.id));
    const claims = {
      sub: String(user.id),
      user_id: user.id,
      pwd: await passwordFingerprint(row!.password),
      iat: now(),
      exp: now() + 60,
      jti: crypto.randomUUID(),
    };
    for (const typ of ['activation+jwt', 'at+jwt']) {
      const response = await confirm(await signedWithServiceKey({ typ }, claims));
      expect(response.status, typ).toBe(400);
      expect(await response.json()).toEqual(INVALID_LINK);
    }
    expect((await confirm(await signedWithServiceKey({ typ: 'password-reset+jwt' }, claims))).status).toBe(200);
  });

  it('matches the address case-insensitively, and skips accounts without a usable password', async () => {
    const user = await createUser();
    const sent = recordMail();
    await post('/auth/password/reset/', { email: `${user.username}@EXAMPLE.com`.toUpperCase() });
    expect(sent.map((mail) => mail.to)).toEqual([`${user.username}@example.com`]);
    const unusable = await createUser({ passwordHash: '!unusable' });
    await post('/auth/password/reset/', { email: `${unusable.username}@example.com` });
    expect(sent).toHaveLength(1);
  });
});

import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/passwords';
import { getDb } from '../../src/db/client';
import { users } from '../../src/db/schema';
import {
  call,
  callWithEnv,
  createUser,
  createUserWithToken,
  obtainToken,
  postJson,
  proxyD1,
  send,
  SITE_URL,
} from '../helpers';

async function taskFor(owner: { token: string }, title = 'task') {
  const response = await send('POST', '/tasks/', {
    token: owner.token,
    body: { title, due_to: '2030-01-01T00:00:00Z' },
  });
  return ((await response.json()) as { id: number }).id;
}

describe('GET /users/<id>/', () => {
  it('shows id, url, username and task ids, but no email and never the password, to others', async () => {
    const owner = await createUserWithToken();
    const taskIds = [await taskFor(owner), await taskFor(owner)];
    for (const token of [undefined, (await createUserWithToken()).token]) {
      const response = await send('GET', `/users/${owner.id}/`, { token });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        id: owner.id,
        url: `${SITE_URL}/users/${owner.id}/`,
        username: owner.username,
        tasks: taskIds,
      });
    }
  });

  it('shows the email to the user itself and to staff', async () => {
    const owner = await createUserWithToken();
    const staff = await createUserWithToken({ isStaff: true });
    const shown = {
      id: owner.id,
      url: `${SITE_URL}/users/${owner.id}/`,
      username: owner.username,
      email: `${owner.username}@example.com`,
      email_verified: true,
      tasks: [],
    };
    const asOwner = await send('GET', `/users/${owner.id}/`, { token: owner.token });
    expect(await asOwner.json()).toEqual(shown);
    // Staff also see the account state.
    const asStaff = await send('GET', `/users/${owner.id}/`, { token: staff.token });
    expect(await asStaff.json()).toEqual({ ...shown, is_active: true, is_staff: false });
  });

  it('answers 404 for an unknown or non-numeric id', async () => {
    for (const path of ['/users/999999/', '/users/abc/', `/users/${'9'.repeat(400)}/`]) {
      const response = await call(path);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ detail: 'Not found.' });
    }
  });

  it('offers no user creation or replacement here: registration stays at /api-register/', async () => {
    const user = await createUserWithToken({ isStaff: true });
    for (const [method, path] of [
      ['POST', '/users/'],
      ['PUT', `/users/${user.id}/`],
    ]) {
      const response = await send(method!, path!, {
        token: user.token,
        body: method === 'DELETE' ? undefined : { username: 'x' },
      });
      expect(response.status).toBe(405);
      expect(await response.json()).toEqual({ detail: `Method "${method}" not allowed.` });
    }
  });
});

describe('GET /users/', () => {
  it('lists users in pages, emails hidden from anonymous callers', async () => {
    const user = await createUserWithToken();
    const taskId = await taskFor(user);
    const body = (await (await call('/users/?ordering=-id&limit=10')).json()) as {
      count: number;
      results: Record<string, unknown>[];
    };
    const { total } = (await env.DB.prepare('SELECT COUNT(*) AS total FROM users').first<{ total: number }>())!;
    expect(body.count).toBe(total);
    expect(body.results.find((u) => u.id === user.id)).toEqual({
      id: user.id,
      url: `${SITE_URL}/users/${user.id}/`,
      username: user.username,
      tasks: [taskId],
    });
    expect(body.results.every((u) => !('email' in u) && !('password' in u))).toBe(true);
  });

  it('orders by username and refuses an unknown ordering', async () => {
    await createUser({ username: 'zz_last_user' });
    await createUser({ username: 'aa_first_user' });
    const names = (
      (await (await call('/users/?ordering=username')).json()) as { results: { username: string }[] }
    ).results.map((u) => u.username);
    // SQLite compares the UTF-8 bytes.
    const bytes = (name: string) =>
      [...new TextEncoder().encode(name)].map((b) => b.toString(16).padStart(2, '0')).join('');
    expect(names).toEqual([...names].sort((a, b) => (bytes(a) < bytes(b) ? -1 : 1)));
    const response = await call('/users/?ordering=email');
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      ordering: ['Select a valid choice. email is not one of the available choices.'],
    });
  });
});

describe('/users/me/', () => {
  it('GET answers the caller with the email, and 401 without a token', async () => {
    const user = await createUserWithToken();
    const response = await send('GET', '/users/me/', { token: user.token });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      id: user.id,
      url: `${SITE_URL}/users/${user.id}/`,
      username: user.username,
      email: `${user.username}@example.com`,
      email_verified: true,
      tasks: [],
    });
    const anonymous = await call('/users/me/');
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ detail: 'Authentication credentials were not provided.' });
  });

  it('PATCH changes the email, and refuses an invalid one', async () => {
    const user = await createUserWithToken();
    const response = await send('PATCH', '/users/me', {
      token: user.token,
      body: { email: 'new@example.com', username: 'ignored' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ username: user.username, email: 'new@example.com' });
    const invalid = await send('PATCH', '/users/me/', { token: user.token, body: { email: 'nope' } });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toEqual({ email: ['Enter a valid email address.'] });
  });

  it('PATCH changes the password only with the current password', async () => {
    const user = await createUserWithToken();
    const missing = await send('PATCH', '/users/me/', { token: user.token, body: { password: 'a new password' } });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ current_password: ['This field is required.'] });

    const wrong = await send('PATCH', '/users/me/', {
      token: user.token,
      body: { password: 'a new password', current_password: 'wrong' },
    });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({
      current_password: ['Your old password was entered incorrectly. Please enter it again.'],
    });
    expect(await obtainToken(user.username, user.password)).toMatch(/^ey/);

    const changed = await send('PATCH', '/users/me/', {
      token: user.token,
      body: { password: 'a new password', current_password: user.password },
    });
    expect(changed.status).toBe(200);
    expect(await changed.json()).not.toHaveProperty('password');
    expect((await postJson('/api-auth/', { username: user.username, password: user.password })).status).toBe(400);
    expect(await obtainToken(user.username, 'a new password')).toMatch(/^ey/);
  });

  it('PATCH stores a new password only if the verified one is still the stored one (a concurrent change wins)', async () => {
    const user = await createUserWithToken();
    const concurrentHash = await hashPassword('set by a concurrent request', 1);
    // A D1 binding that lets another request change the password just before our write lands.
    const racing = proxyD1(env.DB, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (property !== 'batch') return typeof value === 'function' ? value.bind(target) : value;
        return async (statements: D1PreparedStatement[]) => {
          await getDb(target).update(users).set({ password: concurrentHash }).where(eq(users.id, user.id));
          return target.batch(statements);
        };
      },
    });
    const response = await callWithEnv({ DB: racing }, '/users/me/', {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${user.token}` },
      body: JSON.stringify({ password: 'our new passphrase', current_password: user.password }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      current_password: ['Your old password was entered incorrectly. Please enter it again.'],
    });
    expect(await obtainToken(user.username, 'set by a concurrent request')).toMatch(/^ey/);
  });
});

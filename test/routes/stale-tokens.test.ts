/**
 * A token outlives its user's state: a validly signed access token whose user was deleted,
 * deactivated or demoted acts only as D1 says the user is now. A deleted or deactivated user
 * writes nothing (401), a demoted staff user is an ordinary user; never a 5xx.
 */
import { env } from 'cloudflare:workers';
import { count, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { getDb } from '../../src/db/client';
import { tasks, users } from '../../src/db/schema';
import { routes } from '../../src/routes';
import { createUserWithToken, send } from '../helpers';

const db = () => getDb(env.DB);
const deleteUser = (id: number) => db().delete(users).where(eq(users.id, id));
const taskCount = async () => (await db().select({ n: count() }).from(tasks))[0]!.n;
const USER_GONE = { detail: 'User account not found.' };

async function taskOf(owner: { token: string }) {
  const response = await send('POST', '/tasks/', {
    token: owner.token,
    body: { title: 'kept', due_to: '2030-01-01T00:00:00Z' },
  });
  return ((await response.json()) as { id: number }).id;
}

describe("a deleted user's token", () => {
  it('cannot create a task: 401, and nothing is written', async () => {
    const ghost = await createUserWithToken();
    await deleteUser(ghost.id);
    const before = await taskCount();
    const response = await send('POST', '/tasks/', {
      token: ghost.token,
      body: { title: 'from beyond', due_to: '2030-01-01T00:00:00Z' },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('WWW-Authenticate')).toBe('Bearer realm="api", error="invalid_token"');
    expect(await response.json()).toEqual(USER_GONE);
    expect(await taskCount()).toBe(before);
    // As DRF authenticates before it validates: 401 first, whatever is wrong with the body.
    const invalid = await send('POST', '/tasks/', { token: ghost.token, body: { title: '' } });
    expect(invalid.status).toBe(401);
    expect(await invalid.json()).toEqual(USER_GONE);
  });

  it("of a staff user cannot create, change or delete other users' tasks", async () => {
    const owner = await createUserWithToken();
    const taskId = await taskOf(owner);
    const staff = await createUserWithToken({ isStaff: true });
    await deleteUser(staff.id);
    const before = await taskCount();
    const attempts: [string, string, unknown][] = [
      ['POST', '/tasks/', { title: 'forged', person: owner.id, due_to: '2030-01-01T00:00:00Z' }],
      ['PUT', `/tasks/${taskId}/`, { title: 'forged', due_to: '2030-01-01T00:00:00Z' }],
      ['PATCH', `/tasks/${taskId}/`, { title: 'forged' }],
      ['PATCH', `/tasks/${taskId}/`, {}],
      ['PATCH', `/tasks/${taskId}/`, { title: '' }],
      ['DELETE', `/tasks/${taskId}/`, undefined],
    ];
    for (const [method, path, body] of attempts) {
      const response = await send(method, path, { token: staff.token, body });
      expect(response.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(401);
      expect(await response.json()).toEqual(USER_GONE);
    }
    expect(await taskCount()).toBe(before);
    const task = (await (await send('GET', `/tasks/${taskId}/`)).json()) as { title: string };
    expect(task.title).toBe('kept');
  });

  it('gets 401 on /users/me/ (read and change) and on logout', async () => {
    const ghost = await createUserWithToken();
    await deleteUser(ghost.id);
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { email: 'new@example.com' }],
      ['PATCH', { password: 'a new passphrase', current_password: ghost.password }],
    ] as const) {
      const response = await send(method, '/users/me/', { token: ghost.token, body });
      expect(response.status, `${method} ${JSON.stringify(body)}`).toBe(401);
      expect(await response.json()).toEqual(USER_GONE);
    }
    const logout = await send('POST', '/auth/logout/', { token: ghost.token });
    expect(logout.status).toBe(401);
  });

  it('is refused with a 4xx, never a 2xx or a 5xx, by every route that needs a user', async () => {
    const victim = await createUserWithToken();
    const taskId = await taskOf(victim);
    const ghost = await createUserWithToken({ isStaff: true });
    await deleteUser(ghost.id);
    const required = routes.filter((route) => route.auth === 'required');
    expect(required.length).toBeGreaterThanOrEqual(6);
    for (const route of required) {
      const path = route.path
        .replace('{id}', String(taskId))
        .replace('{session}', crypto.randomUUID())
        .replace('{client}', 'no-such-client')
        .replace('{provider}', 'no-such-provider');
      const hasBody = route.body !== undefined;
      const response = await send(route.method.toUpperCase(), path, {
        token: ghost.token,
        body: hasBody ? { title: 'forged', due_to: '2030-01-01T00:00:00Z', email: 'x@example.com' } : undefined,
      });
      expect(response.status, `${route.method} ${path}`).toBe(401);
    }
  });

  it('still reads what anyone may read (authenticating reads no database)', async () => {
    const ghost = await createUserWithToken();
    await deleteUser(ghost.id);
    expect((await send('GET', '/tasks/', { token: ghost.token })).status).toBe(200);
  });
});

const USER_DISABLED = { detail: 'User account is disabled.' };
const deactivate = (id: number) => db().update(users).set({ isActive: false }).where(eq(users.id, id));
const demote = (id: number) => db().update(users).set({ isStaff: false }).where(eq(users.id, id));

describe("a deactivated user's token", () => {
  it('cannot create, change or delete tasks, nor change the account: 401 "User account is disabled."', async () => {
    const user = await createUserWithToken();
    const taskId = await taskOf(user);
    await deactivate(user.id);
    const before = await taskCount();
    const attempts: [string, string, unknown][] = [
      ['POST', '/tasks/', { title: 'while disabled', due_to: '2030-01-01T00:00:00Z' }],
      ['PATCH', `/tasks/${taskId}/`, { title: 'while disabled' }],
      ['PATCH', `/tasks/${taskId}/`, { title: '' }],
      ['DELETE', `/tasks/${taskId}/`, undefined],
      ['PATCH', '/users/me/', { email: 'disabled@example.com' }],
    ];
    for (const [method, path, body] of attempts) {
      const response = await send(method, path, { token: user.token, body });
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(await response.json()).toEqual(USER_DISABLED);
    }
    expect(await taskCount()).toBe(before);
    const [row] = await db().select({ email: users.email }).from(users).where(eq(users.id, user.id));
    expect(row!.email).toBe(`${user.username}@example.com`);
  });
});

describe("a demoted staff user's token", () => {
  it("acts as the user D1 says it is now: its own tasks only, and no other user's email", async () => {
    const other = await createUserWithToken();
    const othersTask = await taskOf(other);
    const former = await createUserWithToken({ isStaff: true });
    const ownTask = await taskOf(former);
    await demote(former.id);

    const forOther = await send('POST', '/tasks/', {
      token: former.token,
      body: { title: 'for someone else', person: other.id, due_to: '2030-01-01T00:00:00Z' },
    });
    expect(forOther.status).toBe(403);
    for (const [method, path, body] of [
      ['PATCH', `/tasks/${othersTask}/`, { title: 'taken over' }],
      ['DELETE', `/tasks/${othersTask}/`, undefined],
      ['PATCH', `/tasks/${ownTask}/`, { person: other.id }],
    ] as const) {
      const response = await send(method, path, { token: former.token, body });
      expect(response.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(403);
    }
    const ownEdit = await send('PATCH', `/tasks/${ownTask}/`, { token: former.token, body: { title: 'still mine' } });
    expect(ownEdit.status).toBe(200);

    const list = (await (await send('GET', '/users/?ordering=-id&limit=10', { token: former.token })).json()) as {
      results: { id: number; email?: string }[];
    };
    expect(list.results.find((u) => u.id === other.id)).not.toHaveProperty('email');
    expect(list.results.find((u) => u.id === former.id)).toHaveProperty('email');
    const profile = (await (await send('GET', `/users/${other.id}/`, { token: former.token })).json()) as object;
    expect(profile).not.toHaveProperty('email');
  });

  it('of a deleted staff user shows no emails', async () => {
    const other = await createUserWithToken();
    const ghost = await createUserWithToken({ isStaff: true });
    await deleteUser(ghost.id);
    const profile = (await (await send('GET', `/users/${other.id}/`, { token: ghost.token })).json()) as object;
    expect(profile).not.toHaveProperty('email');
  });
});

describe("a user promoted to staff after the token's issue", () => {
  it('gets staff rights at the next login, not with the old token', async () => {
    const other = await createUserWithToken();
    const othersTask = await taskOf(other);
    const promoted = await createUserWithToken();
    const ownTask = await taskOf(promoted);
    await db().update(users).set({ isStaff: true }).where(eq(users.id, promoted.id));

    const attempts: [string, string, unknown][] = [
      ['POST', '/tasks/', { title: 'for someone else', person: other.id, due_to: '2030-01-01T00:00:00Z' }],
      ['PATCH', `/tasks/${othersTask}/`, { title: 'taken over' }],
      ['PATCH', `/tasks/${ownTask}/`, { person: other.id }],
    ];
    for (const [method, path, body] of attempts) {
      const response = await send(method, path, { token: promoted.token, body });
      expect(response.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(403);
    }
    const profile = (await (await send('GET', `/users/${other.id}/`, { token: promoted.token })).json()) as object;
    expect(profile).not.toHaveProperty('email');
  });
});

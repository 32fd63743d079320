/**
 * A token outlives its user: a validly signed access token whose user was deleted must never
 * write anything, and every route that needs a user answers 401 for it, never a 5xx.
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
      const path = route.path.replace('{id}', String(taskId));
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

/**
 * Bounded database work: every request below costs at most one D1 round trip (a batch counts as
 * one), whatever the size of the page; authenticating costs none.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/passwords';
import { getDb } from '../../src/db/client';
import { tasks, users } from '../../src/db/schema';
import { accessTokenFor, callWithEnv, countingD1, createUser, uniqueName } from '../helpers';

/** Calls the app with a D1 binding that counts round trips; answers the response and the count. */
async function roundTrips(path: string, init: RequestInit = {}) {
  const counter = countingD1(env.DB);
  const response = await callWithEnv({ DB: counter.binding }, path, init);
  return { response, trips: counter.count() };
}

const json = (method: string, token: string, body?: unknown): RequestInit => ({
  method,
  headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
  body: body === undefined ? undefined : JSON.stringify(body),
});

describe('D1 round trips per request', () => {
  it('a page of 200 users with 400 tasks: one round trip', async () => {
    const password = await hashPassword('pw', 1);
    const rows = Array.from({ length: 200 }, () => ({ username: uniqueName('bulk'), password, isActive: true }));
    const db = getDb(env.DB);
    const created = [];
    for (let i = 0; i < rows.length; i += 10) {
      created.push(
        ...(await db
          .insert(users)
          .values(rows.slice(i, i + 10))
          .returning({ id: users.id })),
      );
    }
    const due = '2030-01-01T00:00:00.000000Z';
    const taskRows = created.flatMap(({ id }) => [
      { title: 'one', personId: id, dueTo: due },
      { title: 'two', personId: id, dueTo: due },
    ]);
    for (let i = 0; i < taskRows.length; i += 20) await db.insert(tasks).values(taskRows.slice(i, i + 20));

    const usersPage = await roundTrips('/users/?ordering=-id&limit=1000');
    expect(usersPage.response.status).toBe(200);
    const body = (await usersPage.response.json()) as { results: { tasks: number[] }[] };
    expect(body.results.length).toBeGreaterThanOrEqual(200);
    expect(body.results.filter((u) => u.tasks.length === 2).length).toBeGreaterThanOrEqual(200);
    expect(usersPage.trips).toBe(1);

    const tasksPage = await roundTrips('/tasks/?limit=1000&ordering=-due_to');
    expect(tasksPage.response.status).toBe(200);
    expect(((await tasksPage.response.json()) as { results: unknown[] }).results.length).toBeGreaterThanOrEqual(400);
    expect(tasksPage.trips).toBe(1);
  });

  it('create, retrieve, update and delete: one each; authenticating: none', async () => {
    const user = await createUser();
    const token = await accessTokenFor(user);

    const created = await roundTrips('/tasks/', json('POST', token, { title: 't', due_to: '2030-01-01T00:00:00Z' }));
    expect(created.response.status).toBe(201);
    expect(created.trips).toBe(1);
    const { id } = (await created.response.json()) as { id: number };

    const read = await roundTrips(`/tasks/${id}/`, { headers: { Authorization: `Bearer ${token}` } });
    expect([read.response.status, read.trips]).toEqual([200, 1]);

    const put = await roundTrips(`/tasks/${id}/`, json('PUT', token, { title: 'u', due_to: '2031-01-01T00:00:00Z' }));
    expect([put.response.status, put.trips]).toEqual([200, 1]);

    const patch = await roundTrips(`/tasks/${id}/`, json('PATCH', token, { title: 'p' }));
    expect([patch.response.status, patch.trips]).toEqual([200, 1]);

    const me = await roundTrips('/users/me/', json('GET', token));
    expect([me.response.status, me.trips]).toEqual([200, 1]);

    const email = await roundTrips('/users/me/', json('PATCH', token, { email: 'changed@example.com' }));
    expect([email.response.status, email.trips]).toEqual([200, 1]);

    const deleted = await roundTrips(`/tasks/${id}/`, json('DELETE', token));
    expect([deleted.response.status, deleted.trips]).toEqual([204, 1]);

    const root = await roundTrips('/', json('GET', token));
    expect([root.response.status, root.trips]).toEqual([200, 0]);
  });
});

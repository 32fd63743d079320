/**
 * What single-row requests cost in D1's own measure, with 10,000 tasks in the table: a task or a
 * user read (plus the task ids it shows), a write, a login and a token refresh each read at most
 * 10 rows (a session login 11), and a session refresh a constant 26 at most.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { callWithEnv, createUser, createUserWithToken, measuringD1, type TestUser } from '../helpers';

const TASKS = 10_000;

let owner: TestUser & { token: string };
let firstTask = 0;

beforeAll(async () => {
  owner = await createUserWithToken();
  await env.DB.prepare(
    `with recursive n(i) as (select 1 union all select i + 1 from n where i < ${TASKS})
     insert into tasks (title, person_id, due_to) select 'task ' || i, ?, '2030-01-01T00:00:00.000000Z' from n`,
  )
    .bind(owner.id)
    .run();
  const row = await env.DB.prepare('select min(id) as id from tasks').first<{ id: number }>();
  firstTask = row!.id + 5000;
}, 60_000);

async function rowsRead(path: string, init: RequestInit = {}) {
  const measure = measuringD1();
  const response = await callWithEnv({ DB: measure.binding }, path, init);
  return { status: response.status, rowsRead: measure.rowsRead(), response };
}

const json = (method: string, body?: unknown, token?: string): RequestInit => ({
  method,
  headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  body: body === undefined ? undefined : JSON.stringify(body),
});

describe(`rows read by a single-row request, with ${TASKS} tasks`, () => {
  it('a task, a user, and the caller', async () => {
    for (const [path, token] of [
      [`/tasks/${firstTask}/`, undefined],
      [`/users/${(await createUser()).id}/`, undefined],
      ['/users/me/', 'owner'],
    ] as const) {
      const result = await rowsRead(path, { headers: token ? { Authorization: `Bearer ${owner.token}` } : {} });
      expect(result.status, path).toBe(200);
      // A user is shown with the ids of its tasks (the owner has 10,000), read from the person index.
      const body = (await result.response.json()) as { tasks?: number[] };
      expect(result.rowsRead, path).toBeLessThanOrEqual(10 + (body.tasks?.length ?? 0));
    }
  });

  it('create, change and delete a task', async () => {
    const created = await rowsRead(
      '/tasks/',
      json('POST', { title: 't', due_to: '2030-01-01T00:00:00Z' }, owner.token),
    );
    expect(created.status).toBe(201);
    expect(created.rowsRead).toBeLessThanOrEqual(10);
    const { id } = (await created.response.json()) as { id: number };
    const changed = await rowsRead(`/tasks/${id}/`, json('PATCH', { title: 'u' }, owner.token));
    expect(changed.status).toBe(200);
    expect(changed.rowsRead).toBeLessThanOrEqual(10);
    const deleted = await rowsRead(`/tasks/${id}/`, json('DELETE', undefined, owner.token));
    expect(deleted.status).toBe(204);
    expect(deleted.rowsRead).toBeLessThanOrEqual(10);
  });

  it('a login, a token refresh, a session login and a session refresh', async () => {
    const user = await createUser();
    const credentials = { username: user.username, password: user.password };
    const login = await rowsRead('/auth/obtain_token/', json('POST', credentials));
    expect(login.status).toBe(200);
    expect(login.rowsRead).toBeLessThanOrEqual(10);
    const { token } = (await login.response.json()) as { token: string };
    const refreshed = await rowsRead('/auth/refresh_token/', json('POST', { token }));
    expect(refreshed.status).toBe(200);
    expect(refreshed.rowsRead).toBeLessThanOrEqual(10);
    const session = await rowsRead('/auth/session/', json('POST', credentials));
    expect(session.status).toBe(200);
    // The session's row costs 5 (its id sequence, the user it names, the unique secret hash) and
    // the login's audit event 1 more.
    expect(session.rowsRead).toBeLessThanOrEqual(11);
    const cookie = session.response.headers.getSetCookie()[0]!.split(';')[0]!;
    const rotated = await rowsRead('/auth/session/refresh/', {
      method: 'POST',
      headers: { Cookie: cookie, Origin: 'http://localhost:8787' },
    });
    expect(rotated.status).toBe(200);
    // Six statements (store, link, answer, the reuse event if any, end the family if unanswered,
    // prune), each looking up a few rows by index: a constant, whatever the size of the tables.
    expect(rotated.rowsRead).toBeLessThanOrEqual(26);
  });
});

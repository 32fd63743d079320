import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { getDb } from '../../src/db/client';
import { tasks, users } from '../../src/db/schema';
import { SITE_URL, call, createUser, createUserWithToken, send, type TestUser } from '../helpers';

const INVALID_CHOICE = 'Select a valid choice. That choice is not one of the available choices.';

interface TaskBody {
  id: number;
  url: string;
  title: string;
  person: number;
  due_to: string;
}

const NOT_AUTHENTICATED = { detail: 'Authentication credentials were not provided.' };
const FORBIDDEN = { detail: 'You do not have permission to perform this action.' };
const NOT_FOUND = { detail: 'Not found.' };

async function createTask(owner: TestUser & { token: string }, body: Record<string, unknown> = {}): Promise<TaskBody> {
  const response = await send('POST', '/tasks/', {
    token: owner.token,
    body: { title: 'Next one', due_to: '2016-10-18T19:12:01Z', ...body },
  });
  expect(response.status).toBe(201);
  return (await response.json()) as TaskBody;
}

describe('POST /tasks/', () => {
  it('creates a task for the caller, with Bearer or JWT', async () => {
    const owner = await createUserWithToken();
    for (const prefix of ['Bearer', 'JWT']) {
      const response = await send('POST', '/tasks/', {
        token: owner.token,
        prefix,
        body: { due_to: '2016-10-18T19:12:01Z', title: 'Next one' },
      });
      expect(response.status).toBe(201);
      const task = (await response.json()) as TaskBody;
      expect(task).toEqual({
        id: task.id,
        url: `${SITE_URL}/tasks/${task.id}/`,
        title: 'Next one',
        person: owner.id,
        due_to: '2016-10-18T19:12:01Z',
      });
    }
  });

  it('refuses an anonymous request with 401', async () => {
    const response = await send('POST', '/tasks/', {
      body: { due_to: '2016-10-18T19:12:01Z', person: 1, title: 'Next one' },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('WWW-Authenticate')).toBe('Bearer realm="api"');
    expect(await response.json()).toEqual(NOT_AUTHENTICATED);
  });

  it('lets a user name themselves as person, but not someone else', async () => {
    const owner = await createUserWithToken();
    const other = await createUser();
    expect((await createTask(owner, { person: owner.id })).person).toBe(owner.id);
    const response = await send('POST', '/tasks/', {
      token: owner.token,
      body: { title: 't', due_to: '2016-10-18T19:12:01Z', person: other.id },
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual(FORBIDDEN);
  });

  it('lets staff create a task for another user, and rejects an unknown person', async () => {
    const staff = await createUserWithToken({ isStaff: true });
    const other = await createUser();
    expect((await createTask(staff, { person: other.id })).person).toBe(other.id);
    expect((await createTask(staff, { person: String(other.id) })).person).toBe(other.id);

    const response = await send('POST', '/tasks/', {
      token: staff.token,
      body: { title: 't', due_to: '2016-10-18T19:12:01Z', person: 999999 },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ person: ['Invalid pk "999999" - object does not exist.'] });
  });

  it.each([
    [{}, { title: ['This field is required.'], due_to: ['This field is required.'] }],
    [
      { title: 'x'.repeat(101), due_to: '2016-10-18T19:12:01Z' },
      { title: ['Ensure this field has no more than 100 characters.'] },
    ],
    [{ title: '   ', due_to: '2016-10-18T19:12:01Z' }, { title: ['This field may not be blank.'] }],
    [
      { title: null, due_to: null },
      { title: ['This field may not be null.'], due_to: ['This field may not be null.'] },
    ],
    [
      { title: 't', due_to: '18/10/2016' },
      {
        due_to: [
          'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].',
        ],
      },
    ],
    [
      { title: 't', due_to: '2016-02-30T10:00:00Z' },
      {
        due_to: [
          'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].',
        ],
      },
    ],
    [
      { title: 't', due_to: '2016-10-18T19:12:01Z', person: 'abc' },
      { person: ['Incorrect type. Expected pk value, received str.'] },
    ],
    [
      { title: 't', due_to: '2016-10-18T19:12:01Z', person: true },
      { person: ['Incorrect type. Expected pk value, received bool.'] },
    ],
    [{ title: ['t'], due_to: '2016-10-18T19:12:01Z' }, { title: ['Not a valid string.'] }],
  ])('answers 400 for %j with %j', async (body, errors) => {
    const owner = await createUserWithToken();
    const response = await send('POST', '/tasks/', { token: owner.token, body });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(errors);
  });

  it('reads any ISO 8601 datetime and answers it in UTC', async () => {
    const owner = await createUserWithToken();
    const cases: [string, string][] = [
      ['2016-10-18T21:12:01+02:00', '2016-10-18T19:12:01Z'],
      ['2016-10-18T19:12', '2016-10-18T19:12:00Z'],
      ['2016-10-18 19:12:01.5Z', '2016-10-18T19:12:01.500000Z'],
      ['2016-10-18T14:12:01-0500', '2016-10-18T19:12:01Z'],
    ];
    for (const [input, output] of cases) {
      expect((await createTask(owner, { due_to: input })).due_to).toBe(output);
    }
  });

  it('accepts a form body, as `http -f` sends it', async () => {
    const owner = await createUserWithToken();
    const response = await call('/tasks/', {
      method: 'POST',
      headers: { Authorization: `JWT ${owner.token}` },
      body: new URLSearchParams({ title: 'form task', due_to: '2016-10-18T19:12:01Z', person: String(owner.id) }),
    });
    expect(response.status).toBe(201);
  });
});

describe('GET /tasks/<id>/', () => {
  it('answers the task to anyone', async () => {
    const task = await createTask(await createUserWithToken());
    const response = await call(`/tasks/${task.id}/`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(task);
  });

  it('answers 404 for an unknown or non-numeric id', async () => {
    for (const path of ['/tasks/999999/', '/tasks/abc/', '/tasks/1.5/', '/tasks/-1/']) {
      const response = await call(path);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual(NOT_FOUND);
    }
  });
});

describe('PUT and PATCH /tasks/<id>/', () => {
  it('let the owner replace and partly update the task', async () => {
    const owner = await createUserWithToken();
    const task = await createTask(owner);
    const put = await send('PUT', `/tasks/${task.id}`, {
      token: owner.token,
      body: { title: 'Replaced', due_to: '2020-01-01T00:00:00Z' },
    });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({ ...task, title: 'Replaced', due_to: '2020-01-01T00:00:00Z' });

    const patch = await send('PATCH', `/tasks/${task.id}/`, { token: owner.token, body: { title: 'Patched' } });
    expect(patch.status).toBe(200);
    expect(await patch.json()).toEqual({ ...task, title: 'Patched', due_to: '2020-01-01T00:00:00Z' });
  });

  it('PUT needs every field; PATCH checks the fields it gets', async () => {
    const owner = await createUserWithToken();
    const task = await createTask(owner);
    const put = await send('PUT', `/tasks/${task.id}/`, { token: owner.token, body: { title: 'only a title' } });
    expect(put.status).toBe(400);
    expect(await put.json()).toEqual({ due_to: ['This field is required.'] });
    const patch = await send('PATCH', `/tasks/${task.id}/`, { token: owner.token, body: { title: '' } });
    expect(patch.status).toBe(400);
    expect(await patch.json()).toEqual({ title: ['This field may not be blank.'] });
  });

  it('refuse another user with 403, even when the body is invalid, and anonymous callers with 401', async () => {
    const task = await createTask(await createUserWithToken());
    const other = await createUserWithToken();
    for (const [method, body] of [
      ['PATCH', { title: 'mine now' }],
      ['PUT', { title: 'mine now', due_to: '2020-01-01T00:00:00Z' }],
      ['PATCH', { title: '' }],
    ] as const) {
      const response = await send(method, `/tasks/${task.id}/`, { token: other.token, body });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual(FORBIDDEN);
    }
    const anonymous = await send('PATCH', `/tasks/${task.id}/`, { body: { title: 'x' } });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual(NOT_AUTHENTICATED);
    expect(await (await call(`/tasks/${task.id}/`)).json()).toEqual(task);
  });

  it('do not let a user move a task to someone else, but let staff', async () => {
    const owner = await createUserWithToken();
    const other = await createUser();
    const staff = await createUserWithToken({ isStaff: true });
    const task = await createTask(owner);
    const moved = await send('PATCH', `/tasks/${task.id}/`, { token: owner.token, body: { person: other.id } });
    expect(moved.status).toBe(403);
    const byStaff = await send('PATCH', `/tasks/${task.id}/`, {
      token: staff.token,
      body: { person: other.id, title: 'Staff edit' },
    });
    expect(byStaff.status).toBe(200);
    expect(await byStaff.json()).toMatchObject({ person: other.id, title: 'Staff edit' });
    const unknown = await send('PATCH', `/tasks/${task.id}/`, { token: staff.token, body: { person: 999999 } });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({ person: ['Invalid pk "999999" - object does not exist.'] });
  });

  it('answer 404 for an unknown task', async () => {
    const owner = await createUserWithToken();
    const response = await send('PATCH', '/tasks/999999/', { token: owner.token, body: { title: 'x' } });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual(NOT_FOUND);
    const invalid = await send('PUT', '/tasks/999999/', { token: owner.token, body: {} });
    expect(invalid.status).toBe(404);
  });
});

describe('DELETE /tasks/<id>/', () => {
  it('lets the owner and staff delete, answering 204', async () => {
    const owner = await createUserWithToken();
    const staff = await createUserWithToken({ isStaff: true });
    for (const deleter of [owner, staff]) {
      const task = await createTask(owner);
      const response = await send('DELETE', `/tasks/${task.id}/`, { token: deleter.token });
      expect(response.status).toBe(204);
      expect(await response.text()).toBe('');
      expect((await call(`/tasks/${task.id}/`)).status).toBe(404);
    }
  });

  it('refuses another user (403), an anonymous caller (401) and an unknown task (404)', async () => {
    const task = await createTask(await createUserWithToken());
    const other = await createUserWithToken();
    expect((await send('DELETE', `/tasks/${task.id}/`, { token: other.token })).status).toBe(403);
    expect((await send('DELETE', `/tasks/${task.id}/`)).status).toBe(401);
    expect((await send('DELETE', '/tasks/999999/', { token: other.token })).status).toBe(404);
    expect((await call(`/tasks/${task.id}/`)).status).toBe(200);
  });

  it("goes with the user: deleting a user deletes the user's tasks", async () => {
    const owner = await createUserWithToken();
    const task = await createTask(owner);
    await getDb(env.DB).delete(users).where(eq(users.id, owner.id));
    expect(await getDb(env.DB).select().from(tasks).where(eq(tasks.id, task.id))).toEqual([]);
  });
});

describe('GET /tasks/ (list)', () => {
  async function ownerWithTasks(titles: string[]) {
    const owner = await createUserWithToken();
    const created: TaskBody[] = [];
    for (const [i, title] of titles.entries()) {
      created.push(await createTask(owner, { title, due_to: `2030-01-0${titles.length - i}T00:00:00Z` }));
    }
    return { owner, created };
  }

  it('answers the limit/offset envelope with absolute next and previous links', async () => {
    const { owner, created } = await ownerWithTasks(['a', 'b', 'c', 'd', 'e']);
    const first = await call(`/tasks/?person=${owner.id}&limit=2`);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({
      count: 5,
      next: `${SITE_URL}/tasks/?limit=2&offset=2&person=${owner.id}`,
      previous: null,
      results: created.slice(0, 2),
    });

    const second = (await (await call(`/tasks/?person=${owner.id}&limit=2&offset=2`)).json()) as Record<
      string,
      unknown
    >;
    expect(second.previous).toBe(`${SITE_URL}/tasks/?limit=2&person=${owner.id}`);
    expect(second.next).toBe(`${SITE_URL}/tasks/?limit=2&offset=4&person=${owner.id}`);

    const last = (await (await call(`/tasks/?person=${owner.id}&limit=2&offset=4`)).json()) as Record<string, unknown>;
    expect(last.results).toEqual(created.slice(4));
    expect(last.next).toBeNull();
    expect(last.previous).toBe(`${SITE_URL}/tasks/?limit=2&offset=2&person=${owner.id}`);
  });

  it('answers an empty page past the end, with a previous link', async () => {
    const { owner } = await ownerWithTasks(['a', 'b']);
    const body = (await (await call(`/tasks/?person=${owner.id}&offset=10`)).json()) as Record<string, unknown>;
    expect(body).toEqual({
      count: 2,
      next: null,
      previous: `${SITE_URL}/tasks/?limit=50&person=${owner.id}`,
      results: [],
    });
  });

  it('uses the default limit for limit=0 and cuts a limit over 1000 to 1000', async () => {
    const { owner } = await ownerWithTasks(['a', 'b', 'c']);
    const zero = (await (await call(`/tasks/?person=${owner.id}&limit=0&offset=1`)).json()) as Record<string, unknown>;
    expect(zero.previous).toBe(`${SITE_URL}/tasks/?limit=50&person=${owner.id}`);
    expect((zero.results as unknown[]).length).toBe(2);
    const huge = (await (await call(`/tasks/?person=${owner.id}&limit=5000&offset=1`)).json()) as Record<
      string,
      unknown
    >;
    expect(huge.previous).toBe(`${SITE_URL}/tasks/?limit=1000&person=${owner.id}`);
  });

  it('orders by due_to, title or id, either way', async () => {
    const { owner, created } = await ownerWithTasks(['b', 'c', 'a']);
    const titles = async (ordering: string) =>
      (
        (await (await call(`/tasks/?person=${owner.id}&ordering=${ordering}`)).json()) as { results: TaskBody[] }
      ).results.map((t) => t.title);
    expect(await titles('title')).toEqual(['a', 'b', 'c']);
    expect(await titles('-title')).toEqual(['c', 'b', 'a']);
    expect(await titles('due_to')).toEqual(['a', 'c', 'b']);
    expect(await titles('-due_to')).toEqual(['b', 'c', 'a']);
    expect(await titles('-id')).toEqual(created.map((t) => t.title).reverse());
    expect(await titles('id')).toEqual(created.map((t) => t.title));
  });

  it.each([
    ['ordering=password', { ordering: ['Select a valid choice. password is not one of the available choices.'] }],
    ['ordering=title,-person', { ordering: ['Select a valid choice. -person is not one of the available choices.'] }],
    ['person=abc', { person: [INVALID_CHOICE] }],
    ['person=0', { person: [INVALID_CHOICE] }],
    ['person=-1', { person: [INVALID_CHOICE] }],
    ['person=99999999', { person: [INVALID_CHOICE] }],
    ['person=1e3', { person: [INVALID_CHOICE] }],
    ['limit=ten', { limit: ['A valid integer is required.'] }],
    ['offset=-1', { offset: ['Ensure this value is greater than or equal to 0.'] }],
  ])('answers 400 for ?%s, never ignoring it', async (query, errors) => {
    const response = await call(`/tasks/?${query}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(errors);
  });
});

describe('PUT and PATCH /tasks/<id>/ check the task before the body, as DRF', () => {
  it('answer 403 to another user and 404 for an unknown task, whatever is wrong with the body', async () => {
    const owner = await createUserWithToken();
    const other = await createUserWithToken();
    const created = await send('POST', '/tasks/', {
      token: owner.token,
      body: { title: 'mine', due_to: '2030-01-01T00:00:00Z' },
    });
    const { id } = (await created.json()) as { id: number };
    const textBody = { 'Content-Type': 'text/plain', Authorization: `Bearer ${other.token}` };
    const plain = await call(`/tasks/${id}/`, { method: 'PATCH', headers: textBody, body: 'title=x' });
    expect(plain.status).toBe(403);
    const unknownWithPerson = await send('PATCH', '/tasks/99999999/', {
      token: other.token,
      body: { person: owner.id },
    });
    expect(unknownWithPerson.status).toBe(404);
    const ownerPlain = await call(`/tasks/${id}/`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'text/plain', Authorization: `Bearer ${owner.token}` },
      body: 'title=x',
    });
    expect(ownerPlain.status).toBe(415);
  });
});

/** Cursor pagination (`?cursor=`) on /tasks/ and /users/: DRF's CursorPagination envelope. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { boundValuesD1, call, callWithEnv, createUser } from '../helpers';

/** A link of the API as a path with its query, to call it through the test entry point. */
const pathOf = (url: string) => `${new URL(url).pathname}${new URL(url).search}`;

interface CursorPage {
  next: string | null;
  previous: string | null;
  results: { id: number; title?: string; due_to?: string; username?: string }[];
  count?: number;
}

const get = async (path: string) => {
  const response = await call(path);
  expect(response.status, path).toBe(200);
  return (await response.json()) as CursorPage;
};

/** `count` tasks of `person` sharing 5 titles and 4 due dates, so pages begin and end inside ties. */
async function seedTasks(person: number, count: number) {
  for (let i = 0; i < count; i++) {
    await env.DB.prepare('insert into tasks (title, person_id, due_to) values (?, ?, ?)')
      .bind(`task ${(i * 7) % 5}`, person, `2030-01-0${(i % 4) + 1}T00:00:00.000000Z`)
      .run();
  }
}

/** Follows `next` links from `first`, then `previous` links back; answers the ids both ways. */
async function walk(first: string) {
  const forward: number[] = [];
  let page = await get(first);
  forward.push(...page.results.map((task) => task.id));
  let last = page;
  while (page.next) {
    page = await get(pathOf(page.next));
    forward.push(...page.results.map((task) => task.id));
    last = page;
  }
  const backward: number[] = [...last.results.map((task) => task.id)].reverse();
  page = last;
  while (page.previous) {
    page = await get(pathOf(page.previous));
    backward.push(...[...page.results.map((task) => task.id)].reverse());
  }
  return { forward, backward };
}

describe('?cursor= on /tasks/', () => {
  it('walks every task once, forwards and back, in each ordering, with no count', async () => {
    const person = await createUser();
    await seedTasks(person.id, 23);
    const orderings = ['', '-id', 'due_to', '-due_to', 'title', '-title', 'due_to,title', '-due_to,-title'];
    for (const ordering of orderings) {
      const expected = (await get(`/tasks/?person=${person.id}&ordering=${ordering}&limit=1000`)).results.map(
        (task) => task.id,
      );
      expect(expected).toHaveLength(23);
      const first = await get(`/tasks/?person=${person.id}&ordering=${ordering}&limit=5&cursor=`);
      expect(first.count).toBeUndefined();
      expect(first.previous).toBeNull();
      const { forward, backward } = await walk(`/tasks/?person=${person.id}&ordering=${ordering}&limit=5&cursor=`);
      expect(forward, ordering).toEqual(expected);
      expect(backward, ordering).toEqual([...expected].reverse());
    }
  });

  it('refuses a changed cursor, or one from another ordering, with 404 "Invalid cursor"', async () => {
    const person = await createUser();
    await seedTasks(person.id, 4);
    const { next } = await get(`/tasks/?person=${person.id}&ordering=title&limit=2&cursor=`);
    const cursor = new URL(next!).searchParams.get('cursor')!;
    const [payload, mac] = cursor.split('.');
    const forged = JSON.parse(atob(payload!.replace(/-/g, '+').replace(/_/g, '/'))) as { v: unknown[] };
    forged.v = ['a', 0];
    const forgedPayload = btoa(JSON.stringify(forged)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    for (const bad of [
      `${forgedPayload}.${mac}`,
      `${payload}.${mac!.slice(0, -2)}AA`,
      'garbage',
      `${payload}.`,
      '.'.repeat(3),
    ]) {
      const response = await call(
        `/tasks/?person=${person.id}&ordering=title&limit=2&cursor=${encodeURIComponent(bad)}`,
      );
      expect(response.status, bad).toBe(404);
      expect(await response.json()).toEqual({ detail: 'Invalid cursor' });
    }
    const otherOrdering = await call(`/tasks/?person=${person.id}&ordering=-title&limit=2&cursor=${cursor}`);
    expect(otherOrdering.status).toBe(404);
  });

  it('needs one direction for every ordering field', async () => {
    const response = await call('/tasks/?ordering=title,-due_to&cursor=');
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      ordering: ['Cursor pagination needs every ordering field in the same direction.'],
    });
  });

  it("drops repeated ordering fields: a page binds a handful of values, within D1's 100", async () => {
    const person = await createUser();
    await seedTasks(person.id, 6);
    const { binding: limited, mostBound } = boundValuesD1(env.DB);
    const repeated = Array.from({ length: 40 }, () => 'title').join(',');
    const first = await callWithEnv(
      { DB: limited },
      `/tasks/?person=${person.id}&ordering=${repeated},id&limit=2&cursor=`,
    );
    const { next } = (await first.json()) as CursorPage;
    const second = await callWithEnv({ DB: limited }, pathOf(next!));
    expect(second.status).toBe(200);
    expect(mostBound()).toBeLessThanOrEqual(10);
    // The same pages as the ordering written once.
    const once = await walk(`/tasks/?person=${person.id}&ordering=title&limit=2&cursor=`);
    expect((await walk(`/tasks/?person=${person.id}&ordering=${repeated},id,-due_to&limit=2&cursor=`)).forward).toEqual(
      once.forward,
    );
  });

  it('still refuses a person that does not exist', async () => {
    const response = await call('/tasks/?person=999999&cursor=');
    expect(response.status).toBe(400);
  });
});

describe('?cursor= on /users/', () => {
  it('walks every user once, by username', async () => {
    for (let i = 0; i < 6; i++) await createUser();
    const { count } = await get('/users/?limit=1');
    const usernames: string[] = [];
    let page = await get('/users/?ordering=username&limit=40&cursor=');
    usernames.push(...page.results.map((user) => user.username!));
    while (page.next) {
      page = await get(pathOf(page.next));
      usernames.push(...page.results.map((user) => user.username!));
    }
    expect(usernames).toHaveLength(count!);
    // SQLite compares the UTF-8 bytes.
    const bytes = (name: string) =>
      [...new TextEncoder().encode(name)].map((b) => b.toString(16).padStart(2, '0')).join('');
    const sorted = [...new Set(usernames)].sort((a, b) => (bytes(a) < bytes(b) ? -1 : 1));
    expect(usernames).toEqual(sorted);
  });
});

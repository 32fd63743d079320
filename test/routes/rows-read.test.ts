/**
 * What a list page costs in D1's own measure, rows read (`meta.rows_read` of each result), with
 * 10,000 tasks in the table: every page, ordering and filter reads at most `limit + offset + 10`
 * rows, however large the table (an index for every ordering; counts kept by triggers).
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { callWithEnv, createUser, measuringD1 } from '../helpers';

const TASKS = 10_000;
const PEOPLE = 20;

let people: number[] = [];

beforeAll(async () => {
  people = [];
  for (let i = 0; i < PEOPLE; i++) people.push((await createUser()).id);
  // One statement: 10,000 tasks spread over the people, titles and due dates in no particular order,
  // each title shared by 10 tasks and each due date by 100, so pages start and end inside ties.
  const owners = people.map((id, k) => `(${k}, ${id})`).join(', ');
  await env.DB.prepare(
    `with recursive n(i) as (select 1 union all select i + 1 from n where i < ${TASKS}),
     owner(k, id) as (values ${owners})
     insert into tasks (title, person_id, due_to)
     select 'task ' || ((i * 7919) % ${TASKS / 10}), owner.id,
            strftime('%Y-%m-%dT%H:%M:%S', 1700000000 + ((i * 104729) % 100) * 86400, 'unixepoch') || '.000000Z'
     from n join owner on owner.k = i % ${PEOPLE}`,
  ).run();
}, 60_000);

async function rowsReadFor(path: string) {
  const measure = measuringD1();
  const response = await callWithEnv({ DB: measure.binding }, path);
  expect(response.status, path).toBe(200);
  const body = (await response.json()) as { count: number; results: unknown[] };
  return { rowsRead: measure.rowsRead(), body };
}

describe(`rows read by a list page, with ${TASKS} tasks`, () => {
  const orderings = ['', 'id', '-id', 'due_to', '-due_to', 'title', '-title'];
  const pages = [
    { limit: 50, offset: 0 },
    { limit: 20, offset: 200 },
  ];

  for (const ordering of orderings) {
    for (const { limit, offset } of pages) {
      it(`/tasks/?ordering=${ordering}&limit=${limit}&offset=${offset}, alone and with ?person=`, async () => {
        const all = await rowsReadFor(`/tasks/?ordering=${ordering}&limit=${limit}&offset=${offset}`);
        expect(all.body.count).toBeGreaterThanOrEqual(TASKS);
        expect(all.body.results).toHaveLength(limit);
        expect(all.rowsRead).toBeLessThanOrEqual(limit + offset + 10);

        const person = people[3]!;
        const mine = await rowsReadFor(`/tasks/?person=${person}&ordering=${ordering}&limit=${limit}&offset=${offset}`);
        expect(mine.body.count).toBe(TASKS / PEOPLE);
        expect(mine.body.results).toHaveLength(limit);
        expect(mine.rowsRead).toBeLessThanOrEqual(limit + offset + 10);
      });
    }
  }

  // A user is shown with the ids of its tasks, which are read too (from the person index alone).
  for (const ordering of ['', 'username', '-username', '-id']) {
    it(`/users/?ordering=${ordering}&limit=5: its rows and the task ids it shows`, async () => {
      const { rowsRead, body } = await rowsReadFor(`/users/?ordering=${ordering}&limit=5&offset=2`);
      expect(body.count).toBeGreaterThanOrEqual(PEOPLE);
      const shownTaskIds = (body.results as { tasks: number[] }[]).reduce((sum, user) => sum + user.tasks.length, 0);
      expect(rowsRead).toBeLessThanOrEqual(5 + 2 + 10 + shownTaskIds);
    });
  }

  // Some 800 requests in one test: the default 5 s limit is about this machine, not the app.
  it('a cursor page reads limit + 10 rows at any depth, also inside a tie: every page of all 10,000 tasks, there and back', async () => {
    const walks = ['ordering=-due_to', 'ordering=title', 'ordering=due_to', `person=${people[5]}&ordering=-title`];
    const pathOf = (link: string) => new URL(link).pathname + new URL(link).search;
    for (const walk of walks) {
      const { count } = (await rowsReadFor(`/tasks/?${walk}&limit=1`)).body;
      let path: string | null = `/tasks/?${walk}&limit=50&cursor=`;
      const seen = new Set<number>();
      let shown = 0;
      let last = '';
      while (path) {
        const { rowsRead, body } = await rowsReadFor(path);
        expect(rowsRead, `${walk} after ${seen.size} tasks`).toBeLessThanOrEqual(50 + 10);
        for (const { id } of body.results as { id: number }[]) seen.add(id);
        shown += body.results.length;
        const { next, previous } = body as unknown as { next: string | null; previous: string | null };
        last = previous ?? '';
        path = next ? pathOf(next) : null;
      }
      expect(seen.size, walk).toBe(count); // every task, once
      expect(shown, walk).toBe(count);
      // Back from the last page to the first, within the same budget.
      let pagesBack = 0;
      path = last ? pathOf(last) : null;
      while (path) {
        const { rowsRead, body } = await rowsReadFor(path);
        expect(rowsRead, `${walk}, ${pagesBack} pages back`).toBeLessThanOrEqual(50 + 10);
        pagesBack++;
        const { previous } = body as unknown as { previous: string | null };
        path = previous ? pathOf(previous) : null;
      }
      expect(pagesBack, walk).toBe(Math.ceil(count / 50) - 1);
    }
  }, 60_000);
});

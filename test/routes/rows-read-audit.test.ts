/**
 * What the audit lists cost in D1's own measure with 100,000 events in the table: every page,
 * filter and depth reads at most `limit + 10` rows (the index of its filter, never the table).
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { callWithEnv, createUserWithToken, measuringD1 } from '../helpers';

const EVENTS = 100_000;
const KINDS = ['login.succeeded', 'login.failed', 'logout', 'password.changed', 'session.ended'];

let staff: Awaited<ReturnType<typeof createUserWithToken>>;
let user: Awaited<ReturnType<typeof createUserWithToken>>;

beforeAll(async () => {
  staff = await createUserWithToken({ isStaff: true });
  user = await createUserWithToken();
  // Spread over 1,000 accounts (the user among them) and five kinds, in no particular order.
  await env.DB.prepare(
    `with recursive n(i) as (select 1 union all select i + 1 from n where i < ${EVENTS})
     insert into audit_events (at, kind, actor_id, actor_name, subject_id, subject_name, request_id, ip, user_agent, details)
     select ?, json_extract(?, '$[' || (((i + i / 1000) * 7) % 5) || ']'), null, null,
            case when i % 1000 = 0 then ? else 1000000 + (i * 7919) % 999 end, 'someone', 'r' || i, '192.0.2.1', 'curl', '{}'
     from n`,
  )
    .bind(Date.now(), JSON.stringify(KINDS), user.id)
    .run();
}, 120_000);

async function rowsRead(path: string, token: string) {
  const measure = measuringD1();
  const response = await callWithEnv({ DB: measure.binding }, path, { headers: { Authorization: `Bearer ${token}` } });
  expect(response.status, path).toBe(200);
  const body = (await response.json()) as { next: string | null; results: unknown[] };
  return { rowsRead: measure.rowsRead(), body };
}

const relative = (url: string) => `${new URL(url).pathname}${new URL(url).search}`;

describe(`rows read by the audit lists, with ${EVENTS} events`, () => {
  it('every filter, on the first page and three pages deep', async () => {
    const lists: [string, string][] = [
      ['/audit/?limit=50', staff.token],
      ['/audit/?kind=logout&limit=50', staff.token],
      [`/audit/?subject=${user.id}&limit=20`, staff.token],
      [`/audit/?subject=${user.id}&kind=logout&limit=5`, staff.token],
      ['/users/me/events/?limit=20', user.token],
      ['/users/me/events/?kind=login.failed&limit=5', user.token],
    ];
    for (const [path, token] of lists) {
      const limit = Number(new URL(path, 'http://x').searchParams.get('limit'));
      let page = await rowsRead(path, token);
      expect(page.body.results.length, path).toBeGreaterThan(0);
      expect(page.rowsRead, path).toBeLessThanOrEqual(limit + 10);
      for (let depth = 1; depth <= 3 && page.body.next; depth++) {
        page = await rowsRead(relative(page.body.next), token);
        expect(page.rowsRead, `${path}, page ${depth + 1}`).toBeLessThanOrEqual(limit + 10);
      }
    }
  });
});

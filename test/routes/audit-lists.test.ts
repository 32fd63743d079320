/**
 * GET /audit/ (staff) and GET /users/me/events/ (the caller's own account): who may read what,
 * the filters, cursor pages, and the Cron Trigger that prunes old events in bounded batches.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { and, eq, lt } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { getDb } from '../../src/db/client';
import { auditEvents, users } from '../../src/db/schema';
import worker from '../../src/index';
import { MAX_BATCHES_PER_RUN, PRUNE_BATCH, pruneAuditLog } from '../../src/scheduled';
import { accessTokenFor, countingD1, createUser, createUserWithToken, send, type TestUser } from '../helpers';

const db = () => getDb(env.DB);

interface EventPage {
  next: string | null;
  previous: string | null;
  results: { id: number; kind: string; actor: unknown; subject: { id: number; username: string } | null }[];
}

/** `count` events about `subject`, straight into D1, `kind` alternating with `other`. */
async function seedEvents(subject: TestUser, count: number, at = Date.now()) {
  await env.DB.prepare(
    `with recursive n(i) as (select 1 union all select i + 1 from n where i < ?)
     insert into audit_events (at, kind, actor_id, actor_name, subject_id, subject_name, request_id, ip, user_agent, details)
     select ?, case when i % 2 = 0 then 'logout' else 'login.succeeded' end, ?, ?, ?, ?, 'seed-' || i, '192.0.2.1', 'curl', '{}' from n`,
  )
    .bind(count, at, subject.id, subject.username, subject.id, subject.username)
    .run();
}

const get = async (path: string, token?: string) => {
  const response = await send('GET', path, { token });
  return { status: response.status, body: (await response.json()) as EventPage & Record<string, unknown> };
};

const relative = (url: string) => {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
};

describe('who reads the audit log', () => {
  it('staff read every event, in the documented shape', async () => {
    const staff = await createUserWithToken({ isStaff: true });
    const user = await createUser();
    await seedEvents(user, 1);
    const { status, body } = await get(`/audit/?subject=${user.id}`, staff.token);
    expect(status).toBe(200);
    expect(body.results).toEqual([
      {
        id: expect.any(Number),
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        kind: 'login.succeeded',
        actor: { id: user.id, username: user.username },
        subject: { id: user.id, username: user.username },
        request_id: 'seed-1',
        ip: '192.0.2.1',
        user_agent: 'curl',
        details: {},
      },
    ]);
    expect(body).toEqual({ next: null, previous: null, results: body.results });
  });

  it('refuses anyone but staff now: 401 anonymous or deactivated, 403 a user, 403 a token that says staff after a demotion', async () => {
    expect((await get('/audit/')).status).toBe(401);
    const user = await createUserWithToken();
    expect((await get('/audit/', user.token)).status).toBe(403);
    const demoted = await createUser();
    expect((await get('/audit/', await accessTokenFor({ ...demoted, isStaff: true }))).status).toBe(403);
    const deactivated = await createUser({ isStaff: true, isActive: false });
    expect((await get('/audit/', await accessTokenFor(deactivated))).status).toBe(401);
  });

  it('a user reads the events of their own account only, and staff actions on it', async () => {
    const user = await createUserWithToken();
    const other = await createUser();
    await seedEvents(user, 2);
    await seedEvents(other, 3);
    const staff = await createUserWithToken({ isStaff: true });
    expect((await send('PATCH', `/users/${user.id}/`, { token: staff.token, body: { is_staff: true } })).status).toBe(
      200,
    );
    const { status, body } = await get('/users/me/events/', user.token);
    expect(status).toBe(200);
    expect(body.results.map((event) => [event.kind, event.subject?.id])).toEqual([
      ['staff.user_changed', user.id],
      ['logout', user.id],
      ['login.succeeded', user.id],
    ]);
    expect(body.results[0]!.actor).toEqual({ id: staff.id, username: staff.username });
    // No filter reaches another account: ?subject= is not a parameter here.
    const sneaky = await get(`/users/me/events/?subject=${other.id}`, user.token);
    expect(sneaky.body.results.every((event) => event.subject?.id === user.id)).toBe(true);
    await db().update(users).set({ isActive: false }).where(eq(users.id, user.id));
    expect((await get('/users/me/events/', user.token)).status).toBe(401);
  });
});

describe('filters and pages', () => {
  it('?subject= and ?kind= narrow the list; a bad value is a 400 in the field', async () => {
    const staff = await createUserWithToken({ isStaff: true });
    const user = await createUserWithToken();
    await seedEvents(user, 5);
    const logouts = await get(`/audit/?subject=${user.id}&kind=logout`, staff.token);
    expect(logouts.body.results.map((event) => event.kind)).toEqual(['logout', 'logout']);
    const mine = await get('/users/me/events/?kind=login.succeeded', user.token);
    expect(mine.body.results).toHaveLength(3);
    const byKind = await get('/audit/?kind=logout&limit=3', staff.token);
    expect(byKind.body.results.every((event) => event.kind === 'logout')).toBe(true);

    for (const [query, field] of [
      ['kind=nope', 'kind'],
      ['subject=abc', 'subject'],
      ['subject=0', 'subject'],
      ['limit=x', 'limit'],
    ] as const) {
      const refused = await get(`/audit/?${query}`, staff.token);
      expect(refused.status, query).toBe(400);
      expect(Object.keys(refused.body), query).toEqual([field]);
    }
    expect((await get('/users/me/events/?kind=nope', user.token)).status).toBe(400);
  });

  it('cursor pages, newest first: next to the end and previous back, no event twice; a changed cursor is a 404', async () => {
    const staff = await createUserWithToken({ isStaff: true });
    const user = await createUser();
    await seedEvents(user, 7);
    const seen: number[] = [];
    let page = await get(`/audit/?subject=${user.id}&limit=3`, staff.token);
    const pages = [page.body];
    seen.push(...page.body.results.map((event) => event.id));
    while (page.body.next) {
      page = await get(relative(page.body.next), staff.token);
      pages.push(page.body);
      seen.push(...page.body.results.map((event) => event.id));
    }
    expect(pages.map((body) => body.results.length)).toEqual([3, 3, 1]);
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
    expect(new Set(seen).size).toBe(7);
    const back = await get(relative(pages[2]!.previous!), staff.token);
    expect(back.body.results.map((event) => event.id)).toEqual(pages[1]!.results.map((event) => event.id));

    const cursor = new URL(pages[0]!.next!).searchParams.get('cursor')!;
    const tampered = `${cursor.slice(0, -2)}${cursor.endsWith('AA') ? 'BB' : 'AA'}`;
    const refused = await get(`/audit/?subject=${user.id}&cursor=${tampered}`, staff.token);
    expect(refused.status).toBe(404);
    expect(refused.body).toEqual({ detail: 'Invalid cursor' });
  });
});

/** The Worker's `scheduled` handler, as the Cron Trigger calls it at `now`. */
async function runCron(now: number) {
  const context = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: new Date(now), cron: '17 * * * *' }), env, context);
  await waitOnExecutionContext(context);
}

describe('pruning (the Cron Trigger)', () => {
  const DAY = 86_400_000;

  it('deletes events older than AUDIT_RETENTION_DAYS and keeps the rest', async () => {
    const user = await createUser();
    const now = Date.now();
    await seedEvents(user, 3, now - 91 * DAY);
    await seedEvents(user, 2, now - 89 * DAY);
    await runCron(now);
    const left = await db().select({ at: auditEvents.at }).from(auditEvents).where(eq(auditEvents.subjectId, user.id));
    expect(left).toHaveLength(2);
    // With nothing left to prune, a run is one statement.
    const counting = countingD1(env.DB);
    expect(await pruneAuditLog({ ...env, DB: counting.binding }, new Date(now))).toBe(0);
    expect(counting.count()).toBe(1);
  });

  it(`deletes at most ${PRUNE_BATCH} × ${MAX_BATCHES_PER_RUN} per run, the oldest first; the next run goes on`, async () => {
    const user = await createUser();
    const bound = PRUNE_BATCH * MAX_BATCHES_PER_RUN;
    const now = Date.now();
    await seedEvents(user, bound + 300, now - 200 * DAY);
    await seedEvents(user, 10, now - 100 * DAY);
    const old = () =>
      db()
        .select({ at: auditEvents.at })
        .from(auditEvents)
        .where(and(eq(auditEvents.subjectId, user.id), lt(auditEvents.at, new Date(now - 90 * DAY))));
    await runCron(now);
    const afterFirst = await old();
    expect(afterFirst).toHaveLength(310);
    // The oldest went first: what is left are the 300 older and the 10 newer ones.
    expect(afterFirst.filter(({ at }) => at.getTime() === now - 100 * DAY)).toHaveLength(10);
    await runCron(now);
    expect(await old()).toHaveLength(0);
  }, 30_000);
});

/**
 * D1 fails now and then. For every operation of the OpenAPI document, a request is sent once as
 * it is, then again with its 1st, 2nd, ... D1 call failing (D1's error, or a promise that never
 * settles past the statement timeout). Each such request answers 503 {"detail"} with Retry-After,
 * or, when the failed call was work after the response, the normal answer and a logged failure.
 * The log line has the request id and none of the request's personal data, and D1 holds either
 * none of the request's change or all of it: every change a request makes before its answer is
 * one statement or one batch.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../src/app';
import { getDb } from '../src/db/client';
import { tasks } from '../src/db/schema';
import { createUserWithToken, faultyD1, SITE_URL, uniqueName, type D1Call } from './helpers';

/** Short, so a hung statement costs the test little; the default is 10 s. */
const TIMEOUT_MS = '30';

interface Operation {
  method: string;
  path: string;
}

interface Prepared {
  path: string;
  init: RequestInit;
  /** Values that must never appear in a log line. */
  secrets: string[];
}

const json = (method: string, body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method,
  headers: { 'Content-Type': 'application/json', Origin: SITE_URL, ...headers },
  body: JSON.stringify(body),
});

/** A fresh user (staff, a recent login) with a task, and a request for `operation` as they send it. */
async function prepare({ method, path }: Operation): Promise<Prepared> {
  const me = await createUserWithToken({ isStaff: true });
  const other = await createUserWithToken();
  const [task] = await getDb(env.DB)
    .insert(tasks)
    .values({ title: 'faulted', personId: me.id, dueTo: '2030-01-01T00:00:00.000000Z' })
    .returning({ id: tasks.id });
  const auth = { Authorization: `Bearer ${me.token}` };
  const secrets = [me.username, me.password, me.token, other.username, other.token];
  const filled = path
    .replace('{id}', String(path.startsWith('/users/') ? other.id : task!.id))
    .replace('{token}', me.token)
    .replace('{client}', 'no-such-client')
    .replace('{provider}', 'no-such-provider');
  const key = `${method.toUpperCase()} ${path}`;
  const username = uniqueName('fault');
  /** The activation link of a user who registers now (the 201 body holds it, as in the tutorial). */
  const activationPath = async () => {
    const name = uniqueName('inactive');
    const registered = await createApp().request(
      'http://api.test/api-register/',
      json('POST', { username: name, password: 'a fault passphrase', email: `${name}@example.com` }),
      env,
    );
    return new URL(((await registered.json()) as { confirmation_url: string }).confirmation_url).pathname;
  };
  const special: Record<string, () => (RequestInit & { path?: string }) | Promise<RequestInit & { path?: string }>> = {
    'POST /api-register/': () => {
      secrets.push(username);
      return json('POST', { username, password: 'a fault passphrase', email: `${username}@example.com` });
    },
    'POST /api-auth/': () => json('POST', { username: me.username, password: me.password }),
    'POST /auth/obtain_token/': () => json('POST', { username: me.username, password: me.password }),
    'POST /auth/session/': () => json('POST', { username: me.username, password: me.password }),
    'GET /api-activate/{token}/': async () => ({ method: 'GET', path: await activationPath() }),
    'POST /api-activate/': async () => json('POST', { token: (await activationPath()).split('/')[2] }),
    'POST /auth/refresh_token/': () => json('POST', { token: me.token }),
    'POST /auth/verify_token/': () => json('POST', { token: me.token }),
    'POST /tasks/': () => json('POST', { title: 'new', due_to: '2030-01-01T00:00:00Z' }, auth),
    'PUT /tasks/{id}/': () => json('PUT', { title: 'put', due_to: '2030-01-01T00:00:00Z' }, auth),
    'PATCH /tasks/{id}/': () => json('PATCH', { title: 'patched' }, auth),
    'PATCH /users/me/': () =>
      json('PATCH', { password: 'a new fault passphrase', current_password: me.password }, auth),
    'PATCH /users/{id}/': () => json('PATCH', { is_active: false }, auth),
    'POST /auth/password/reset/': () => json('POST', { email: `${me.username}@example.com` }),
    'POST /api-activate/resend/': () => json('POST', { email: `${me.username}@example.com` }),
    'POST /auth/reauth/': () => json('POST', { password: me.password }, auth),
    'POST /auth/mfa/totp/': () => json('POST', {}, auth),
    'POST /auth/session/refresh/': async () => {
      const login = await createApp().request(
        `http://api.test/auth/session/`,
        json('POST', { username: me.username, password: me.password }),
        env,
      );
      const cookie = login.headers.getSetCookie().find((line) => line.startsWith('__Secure-session='));
      return { method: 'POST', headers: { Origin: SITE_URL, Cookie: cookie?.split(';')[0] ?? '' } };
    },
  };
  const { path: specialPath, ...init } = special[key]
    ? await special[key]()
    : {
        method: method.toUpperCase(),
        headers: {
          ...auth,
          Origin: SITE_URL,
          ...(method === 'get' || method === 'delete' ? {} : { 'Content-Type': 'application/json' }),
        },
        body: method === 'get' || method === 'delete' ? undefined : '{}',
      };
  return { path: specialPath ?? filled, init, secrets };
}

/** A request through the Worker's entry with D1 faulted, and what each D1 call was. */
async function send(prepared: Prepared, fault: { failAt?: number; mode?: 'error' | 'hang' } = {}) {
  const calls: D1Call[] = [];
  const DB = faultyD1(env.DB, { ...fault, onCall: (call) => calls.push(call) });
  const pending: Promise<unknown>[] = [];
  const ctx = {
    waitUntil: (promise: Promise<unknown>) => pending.push(promise),
    passThroughOnException() {},
    props: {},
  };
  const request = new Request(`http://api.test${prepared.path}`, {
    redirect: 'manual',
    ...prepared.init,
    headers: {
      'CF-Connecting-IP': `10.9.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`,
      ...(prepared.init.headers as Record<string, string>),
    },
  });
  // The app's statement timeout must answer; a request still waiting after 5 s hangs.
  const response = await Promise.race([
    createApp().fetch(request, { ...env, DB, D1_STATEMENT_TIMEOUT_MS: TIMEOUT_MS }, ctx as unknown as ExecutionContext),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${prepared.path} hung`)), 5000)),
  ]);
  const body = await response.text();
  // Work after the response (mail, audit events, a rehash) may itself wait on a hung statement.
  await Promise.race([Promise.allSettled(pending), new Promise((resolve) => setTimeout(resolve, 200))]);
  return { response, body, calls };
}

let tables: string[] = [];

/** Row counts of every table of ours: what a request changed, besides the audit log after it. */
async function counts(): Promise<Record<string, number>> {
  const statements = tables.map((name) => env.DB.prepare(`SELECT COUNT(*) AS n FROM "${name}"`));
  const results = await env.DB.batch<{ n: number }>(statements);
  return Object.fromEntries(tables.map((name, i) => [name, results[i]!.results[0]!.n]));
}

const delta = (before: Record<string, number>, after: Record<string, number>) =>
  Object.fromEntries(tables.map((name) => [name, after[name]! - before[name]!]).filter(([, d]) => d !== 0));

let operations: Operation[] = [];

beforeAll(async () => {
  const document = (await (await createApp().request('http://api.test/openapi.json', {}, env)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => ({ method, path })),
  );
  const { results } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%' AND name <> 'audit_events'",
  ).all<{ name: string }>();
  tables = results.map(({ name }) => name);
});

afterEach(() => vi.restoreAllMocks());

describe('every documented operation when D1 fails', () => {
  it('covers the whole document', () => {
    expect(operations.length).toBeGreaterThan(60);
  });

  it(
    'answers 503 with Retry-After, writes all or nothing, and logs the request id only',
    { timeout: 300_000 },
    async () => {
      for (const operation of operations) {
        const label = `${operation.method.toUpperCase()} ${operation.path}`;
        const referenceBefore = await counts();
        const reference = await send(await prepare(operation));
        const referenceChange = delta(referenceBefore, await counts());
        expect(reference.response.status, `${label}: ${reference.body}`).toBeLessThan(500);

        for (let failAt = 1; failAt <= reference.calls.length; failAt++) {
          for (const mode of ['error', 'hang'] as const) {
            const what = `${label}, D1 call ${failAt} (${mode})`;
            const prepared = await prepare(operation);
            const logged: string[] = [];
            vi.spyOn(console, 'error').mockImplementation((line: unknown) => void logged.push(String(line)));
            const before = await counts();
            const faulted = await send(prepared, { failAt, mode });
            const after = await counts();
            vi.restoreAllMocks();
            const failed = faulted.calls[failAt - 1];
            if (!failed) continue; // this run took a shorter way (a cached value, a random branch)
            if (faulted.response.status !== 503) {
              // Only work after the response may fail without a 503, and it says so in the log.
              expect(faulted.response.status, `${what}: ${faulted.body}`).toBe(reference.response.status);
              expect(
                logged.some((line) => / failed$/.test(JSON.parse(line).message)),
                `${what}: ${logged}`,
              ).toBe(true);
            } else {
              expect(faulted.response.headers.get('Retry-After'), what).toMatch(/^\d+$/);
              expect(JSON.parse(faulted.body), what).toEqual({ detail: expect.any(String) });
              // Nothing half-written: none of the change, or all of it (the failure came after it).
              const changed = delta(before, after);
              if (Object.keys(changed).length > 0) expect(changed, what).toEqual(referenceChange);
            }
            const requestId = faulted.response.headers.get('X-Request-Id');
            expect(logged.length, `${what}: nothing logged`).toBeGreaterThan(0);
            for (const line of logged) {
              expect(JSON.parse(line).requestId, what).toBe(requestId);
              for (const secret of prepared.secrets) expect(line, what).not.toContain(secret);
            }
          }
        }
      }
    },
  );
});

/**
 * Property-based tests over every declared route: arbitrary query strings, path segments, bodies
 * and headers never get a 5xx or a non-JSON error, and no authorization rule is crossed.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getDb } from '../src/db/client';
import { tasks, users } from '../src/db/schema';
import { buildOpenApiDocument } from '../src/openapi/document';
import type { Route } from '../src/http/route';
import { routes } from '../src/routes';
import { call, callWithEnv, createUserWithToken, send, SITE_URL } from './helpers';

const RUNS = 25;
// A fixed seed keeps CI reproducible; change it (or raise RUNS) locally to explore further.
fc.configureGlobal({ seed: 20261130 });
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);

/** Any UTF-16 code unit, lone surrogates included (JSON.stringify escapes them). */
const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
const anyText = fc.oneof(fc.string({ unit: anyUnit, maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }));

/** Text as it may arrive in a URL: any bytes, percent-encoded, valid UTF-8 or not. */
const urlText = fc.oneof(
  fc
    .uint8Array({ maxLength: 24 })
    .map((bytes) => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')),
  fc.constantFrom(
    ...PROTOTYPE_NAMES,
    '-constructor',
    '__proto__',
    '%',
    '%zz',
    '-',
    ',',
    '0',
    '-1',
    '1e3',
    '99999999999999999999',
  ),
  fc.string({ unit: 'grapheme-ascii', maxLength: 12 }).map(encodeURIComponent),
);

const queryKey = fc.oneof(
  fc.constantFrom('limit', 'offset', 'ordering', 'person', 'cursor', ...PROTOTYPE_NAMES),
  urlText,
);
const queryString = fc
  .array(fc.tuple(queryKey, urlText), { maxLength: 5 })
  .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}` : ''));

const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const fieldNames = fc.constantFrom(
  'title',
  'due_to',
  'person',
  'username',
  'password',
  'email',
  'token',
  'current_password',
  ...PROTOTYPE_NAMES,
);
const fieldValue = fc.oneof(
  anyText,
  fc.double(),
  fc.constantFrom(1e400, -1e400, 2 ** 53 + 1, -0, 0, 1, 1.5, true, false, null),
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom('2016-10-18T19:12:01Z', '9999-12-31T23:59:59-01:00', '0000-01-01T00:00:00Z', 'x'.repeat(5000)),
);
/** A JSON body text: objects with our field names and hostile ones, any JSON, deep nesting, garbage. */
const jsonBody = fc.oneof(
  fc.dictionary(fieldNames, fieldValue, { maxKeys: 6 }).map((value) => JSON.stringify(value)),
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
  fc.integer({ min: 1, max: 100_000 }).map(deep),
  fc.constantFrom('{"__proto__": {"is_staff": true}, "title": "x"}', '{"a":1e999999}', '{', '\u0000', '""', 'null'),
  anyText.map((text) => JSON.stringify({ title: text, username: text, password: text, email: text, token: text })),
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'text/plain',
  'application/vnd.api+json',
  '',
);

const authorization = fc.oneof(
  fc.constant(undefined),
  fc.string({ unit: 'grapheme-ascii', maxLength: 60 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 60 }).map((text) => `Bearer ${text}`),
  fc.constantFrom('Bearer', 'JWT ', 'Bearer a.b.c', 'Basic YQ==', `Bearer ${'a'.repeat(9000)}`),
);

/** A browser's Origin: ours (the session routes' CSRF check passes), another, or anything. */
const origin = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(new URL(SITE_URL).origin, 'https://evil.example.com', 'null'),
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
);

/** A session cookie: well-formed but unknown, malformed, repeated, or any Cookie header at all. */
const cookie = fc.oneof(
  fc.constant(undefined),
  fc.stringMatching(/^[A-Za-z0-9_-]{43}$/).map((secret) => `__Secure-session=${secret}`),
  fc.string({ unit: 'grapheme-ascii', maxLength: 60 }).map((value) => `__Secure-session=${value}`),
  fc.constantFrom('__Secure-session=%zz', '__Secure-session="', '__Secure-session=a; __Secure-session=b', '=;=;'),
  fc.string({ unit: 'grapheme-ascii', maxLength: 80 }),
);

/** `.` and `..` (also percent-encoded) are not segments: URL parsing resolves them to another path. */
const segment = (text: string, fallback: string) => (text === '' || /^(\.|%2e){1,2}$/i.test(text) ? fallback : text);

/** Fills `{id}` and `{token}` with arbitrary segments. */
const pathFor = (template: string) =>
  fc
    .tuple(urlText, fc.oneof(fc.nat().map(String), urlText))
    .map(([token, id]) => template.replace('{token}', segment(token, 'x')).replace('{id}', segment(id, '1')));

const documented = buildOpenApiDocument(routes, SITE_URL).paths as Record<
  string,
  Record<string, { responses: Record<string, unknown> }>
>;

/**
 * `{"detail": "..."}` or `{"field": ["message", ...]}`: the two error shapes of the document; and
 * RFC 6749's `{"error", "error_description"}` from the OpenID Connect provider's endpoints.
 */
function isErrorBody(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const entries = Object.entries(body);
  if (entries.length === 1 && entries[0]![0] === 'detail') return typeof entries[0]![1] === 'string';
  if (entries.length === 2 && 'error' in body && 'error_description' in body) {
    return typeof body.error === 'string' && typeof body.error_description === 'string';
  }
  return (
    entries.length > 0 &&
    entries.every(([, messages]) => Array.isArray(messages) && messages.every((m) => typeof m === 'string'))
  );
}

/** The status is one the operation documents; an error is JSON in one of the documented shapes. */
async function expectWellFormed(response: Response, route: Route, what: string) {
  expect(response.status, what).toBeLessThan(500);
  expect(Object.keys(documented[route.path]![route.method]!.responses), what).toContain(String(response.status));
  // No body (204, a redirect, RFC 7009's 200).
  if (route.responses[response.status] === null) return expect(await response.text(), what).toBe('');
  // Every answer is JSON but the HTML pages' own.
  if (response.status === 200 && route.responses[200] === 'Html') return;
  expect(response.headers.get('Content-Type') ?? '', what).toMatch(/^application\/json/);
  const text = await response.text();
  const body: unknown = JSON.parse(text);
  if (response.status >= 400) expect(isErrorBody(body), `${what}: ${text.slice(0, 200)}`).toBe(true);
}

describe('every declared route, fuzzed', () => {
  it.each(routes.map((route) => [`${route.method.toUpperCase()} ${route.path}`, route] as const))(
    '%s never answers a 5xx or a non-JSON error',
    async (_, route) => {
      const method = route.method.toUpperCase();
      const hasBody = !['GET', 'DELETE'].includes(method);
      await fc.assert(
        fc.asyncProperty(
          pathFor(route.path),
          queryString,
          jsonBody,
          contentType,
          authorization,
          origin,
          cookie,
          async (path, query, body, type, auth, from, cookieHeader) => {
            const headers: Record<string, string> = {};
            if (auth !== undefined) headers.Authorization = auth;
            if (from !== undefined) headers.Origin = from;
            if (cookieHeader !== undefined) headers.Cookie = cookieHeader;
            if (hasBody && type) headers['Content-Type'] = type;
            const response = await call(`${path}${query}`, { method, headers, body: hasBody ? body : undefined });
            await expectWellFormed(response, route, `${method} ${path}${query} ${type} ${body.slice(0, 100)}`);
          },
        ),
        { numRuns: RUNS },
      );
    },
  );
});

describe('any method, any headers, CORS on, fuzzed', () => {
  const origins = { CORS_ALLOWED_ORIGINS: 'https://app.example.com' };
  const method = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND');
  const headerName = fc.oneof(
    fc.constantFrom(
      'Origin',
      'Access-Control-Request-Method',
      'Access-Control-Request-Headers',
      'X-Request-Id',
      'Accept',
      'Content-Length-Ish',
      'Cookie',
      'Range',
      'If-None-Match',
      'CF-Connecting-IP',
      'X-D1-Bookmark',
    ),
    fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/),
  );
  const headerValue = fc.oneof(
    fc.constantFrom(
      'https://app.example.com',
      'https://evil.example.com',
      'null',
      'POST',
      'authorization, content-type',
      '*',
    ),
    fc.string({ unit: 'grapheme-ascii', maxLength: 80 }),
  );
  const headers = fc.dictionary(headerName, headerValue, { maxKeys: 5 });

  it('never answers a 5xx; every answer with a body is JSON (the docs page aside)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes.map((route) => route.path)).chain((path) => pathFor(path)),
        queryString,
        method,
        headers,
        jsonBody,
        async (path, query, verb, extra, body) => {
          const hasBody = !['GET', 'HEAD'].includes(verb);
          const response = await callWithEnv(origins, `${path}${query}`, {
            method: verb,
            headers: { ...extra, ...(hasBody ? { 'Content-Type': 'application/json' } : {}) },
            body: hasBody ? body : undefined,
          });
          const what = `${verb} ${path}${query} ${JSON.stringify(extra)}`;
          expect(response.status, what).toBeLessThan(500);
          const text = await response.text();
          if (
            verb === 'HEAD' ||
            response.status === 204 ||
            (response.status === 302 && text === '') ||
            (response.status === 200 && text === '' && path.startsWith('/oauth/revoke')) ||
            (response.status === 200 && /^text\/html/.test(response.headers.get('Content-Type') ?? ''))
          )
            return;
          expect(response.headers.get('Content-Type') ?? '', what).toMatch(/^application\/json/);
          expect(() => JSON.parse(text), `${what}: ${text.slice(0, 200)}`).not.toThrow();
          if (response.status === 405) expect(response.headers.get('Allow'), what).toMatch(/OPTIONS$/);
        },
      ),
      { numRuns: RUNS * 8 },
    );
  });
});

describe('authorization, fuzzed', () => {
  it("no body lets a user change, delete or take over another user's task", async () => {
    const owner = await createUserWithToken();
    const other = await createUserWithToken();
    const created = await send('POST', '/tasks/', {
      token: owner.token,
      body: { title: 'mine', due_to: '2030-01-01T00:00:00Z' },
    });
    const task = (await created.json()) as { id: number };
    const before = await getDb(env.DB).select().from(tasks).where(eq(tasks.id, task.id));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('PUT', 'PATCH', 'DELETE'), jsonBody, contentType, async (method, body, type) => {
        const response = await call(`/tasks/${task.id}/`, {
          method,
          headers: { Authorization: `Bearer ${other.token}`, ...(type ? { 'Content-Type': type } : {}) },
          body: method === 'DELETE' ? undefined : body,
        });
        expect(response.status, `${method} ${body.slice(0, 100)}`).toBeGreaterThanOrEqual(400);
        expect(response.status).toBeLessThan(500);
      }),
      { numRuns: RUNS * 4 },
    );
    expect(await getDb(env.DB).select().from(tasks).where(eq(tasks.id, task.id))).toEqual(before);
  });

  it('a created task always belongs to its non-staff creator, whatever the body says', async () => {
    const owner = await createUserWithToken();
    const creator = await createUserWithToken();
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            title: fc.oneof(anyText, fc.constant('ok')),
            due_to: fc.constantFrom('2030-01-01T00:00:00Z', '2030-01-01'),
            person: fc.oneof(fc.constant(owner.id), fc.constant(String(owner.id)), fc.constant(creator.id), fieldValue),
          },
          { requiredKeys: [] },
        ),
        async (body) => {
          const response = await send('POST', '/tasks/', { token: creator.token, body });
          expect(response.status).toBeLessThan(500);
          if (response.status === 201) expect(((await response.json()) as { person: number }).person).toBe(creator.id);
        },
      ),
      { numRuns: RUNS * 4 },
    );
  });

  it("PATCH /users/me/ never changes another user's row, nor the caller's password without the current one", async () => {
    const bystander = await createUserWithToken();
    const caller = await createUserWithToken();
    const rows = () =>
      getDb(env.DB)
        .select({
          id: users.id,
          email: users.email,
          password: users.password,
          isStaff: users.isStaff,
          isActive: users.isActive,
        })
        .from(users)
        .where(eq(users.id, bystander.id));
    const bystanderBefore = await rows();
    const [{ password: callerHash }] = (await getDb(env.DB)
      .select({ password: users.password })
      .from(users)
      .where(eq(users.id, caller.id))) as [{ password: string }];
    await fc.assert(
      fc.asyncProperty(jsonBody, async (body) => {
        const response = await call('/users/me/', {
          method: 'PATCH',
          headers: { Authorization: `Bearer ${caller.token}`, 'Content-Type': 'application/json' },
          body,
        });
        expect(response.status).toBeLessThan(500);
      }),
      { numRuns: RUNS * 4 },
    );
    expect(await rows()).toEqual(bystanderBefore);
    const [after] = await getDb(env.DB)
      .select({ password: users.password, isStaff: users.isStaff })
      .from(users)
      .where(eq(users.id, caller.id));
    expect(after).toEqual({ password: callerHash, isStaff: false });
  });
});

/**
 * The route declarations are both the served routes and the OpenAPI document: what the document
 * says of each operation's auth is what the API enforces.
 */
import { describe, expect, it } from 'vitest';
import { routes } from '../../src/routes';
import { call } from '../helpers';

interface Operation {
  security?: Record<string, unknown>[];
  responses: Record<string, unknown>;
  requestBody?: unknown;
}

const document = async () =>
  ((await (await call('/openapi.json')).json()) as { paths: Record<string, Record<string, Operation>> }).paths;

/** A concrete path for a documented one: an id that exists nowhere, a token that is not one. */
const concrete = (path: string) =>
  path
    .replace('{id}', '999999')
    .replace('{token}', 'not.a.token')
    .replace('{session}', crypto.randomUUID())
    .replace('{client}', 'no-such-client')
    .replace('{provider}', 'no-such-provider');

const request = (method: string, path: string, authorization?: string) =>
  call(concrete(path), {
    method: method.toUpperCase(),
    headers: {
      ...(authorization ? { Authorization: authorization } : {}),
      ...(['post', 'put', 'patch'].includes(method) ? { 'Content-Type': 'application/json' } : {}),
    },
    body: ['post', 'put', 'patch'].includes(method) ? '{}' : undefined,
  });

describe('every documented operation', () => {
  it('is declared once, and the document lists exactly the declarations', async () => {
    const paths = await document();
    const documented = Object.entries(paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m} ${path}`),
    );
    const declared = routes.map((route) => `${route.method} ${route.path}`);
    expect(new Set(declared).size).toBe(declared.length);
    expect(documented.sort()).toEqual([...declared].sort());
  });

  it('that requires a token answers 401 without one', async () => {
    const paths = await document();
    let checked = 0;
    for (const [path, methods] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const required = JSON.stringify(operation.security) === JSON.stringify([{ bearerAuth: [] }]);
        if (!required) continue;
        const response = await request(method, path);
        expect(response.status, `${method} ${path}`).toBe(401);
        expect(await response.json()).toEqual({ detail: 'Authentication credentials were not provided.' });
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(6);
  });

  it('that reads a token when sent refuses a bad one with 401, and one that documents no token ignores it', async () => {
    const paths = await document();
    for (const [path, methods] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const response = await request(method, path, 'Bearer not.a.token');
        const readsBearer = operation.security?.some((scheme) => 'bearerAuth' in scheme);
        if (readsBearer) expect(response.status, `${method} ${path}`).toBe(401);
        else expect(response.status, `${method} ${path}`).toBe((await request(method, path)).status);
        expect(Object.keys(operation.responses), `${method} ${path}`).toContain(String(response.status));
      }
    }
  });

  it('that takes the session cookie refuses a request without a trusted Origin with 403', async () => {
    const paths = await document();
    let checked = 0;
    for (const [path, methods] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        if (!operation.security?.some((scheme) => 'sessionCookie' in scheme)) continue;
        const response = await request(method, path);
        expect(response.status, `${method} ${path}`).toBe(403);
        expect(Object.keys(operation.responses), `${method} ${path}`).toContain('403');
        checked++;
      }
    }
    expect(checked).toBe(2);
  });
});

import { describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../src/limits';
import { call, callWithEnv, createUser, postJson } from './helpers';

describe('every path answers with and without its trailing slash', () => {
  it.each([
    '/api-register',
    '/api-activate',
    '/api-auth',
    '/auth/obtain_token',
    '/auth/refresh_token',
    '/auth/verify_token',
  ])('POST %s answers with and without the trailing slash (400 for an empty body, never 404)', async (path) => {
    for (const url of [path, `${path}/`]) {
      const response = await postJson(url, {});
      expect(response.status).toBe(400);
    }
  });
});

describe('errors are JSON in DRF shapes', () => {
  it('answers 404 {"detail": "Not found."} for an unknown route', async () => {
    const response = await call('/no/such/route/');
    expect(response.status).toBe(404);
    expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ detail: 'Not found.' });
  });

  it('answers 405 with Allow for a method a route does not serve', async () => {
    const cases: [string, string, string][] = [
      ['GET', '/api-register/', 'POST, OPTIONS'],
      ['DELETE', '/auth/obtain_token', 'POST, OPTIONS'],
      ['PUT', '/', 'GET, HEAD, OPTIONS'],
      ['POST', '/api-activate/some.token.here/', 'GET, OPTIONS'],
    ];
    for (const [method, path, allow] of cases) {
      const response = await call(path, { method });
      expect(response.status).toBe(405);
      expect(response.headers.get('Allow')).toBe(allow);
      expect(await response.json()).toEqual({ detail: `Method "${method}" not allowed.` });
    }
  });

  it('answers OPTIONS with 204 and the allowed methods', async () => {
    const response = await call('/auth/refresh_token/', { method: 'OPTIONS' });
    expect(response.status).toBe(204);
    expect(response.headers.get('Allow')).toBe('POST, OPTIONS');
  });

  it('answers 400 "JSON parse error - ..." for a malformed JSON body', async () => {
    const response = await call('/api-auth/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"username": ',
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { detail: string };
    expect(Object.keys(body)).toEqual(['detail']);
    expect(body.detail).toMatch(/^JSON parse error - /);
  });

  it('answers 415 for a body of an unsupported media type', async () => {
    const response = await call('/api-auth/', {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: 'username=a',
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toEqual({ detail: 'Unsupported media type "text/plain" in request.' });
  });

  it('answers 413 for a body over 64 KiB, announced or streamed', async () => {
    const big = JSON.stringify({ username: 'a', password: 'x'.repeat(MAX_BODY_BYTES) });
    const announced = await postJson('/api-auth/', JSON.parse(big));
    expect(announced.status).toBe(413);
    expect(await announced.json()).toEqual({ detail: `Request body is too large (limit ${MAX_BODY_BYTES} bytes).` });

    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 4096) controller.enqueue(bytes.slice(i, i + 4096));
        controller.close();
      },
    });
    const streamed = await call('/api-auth/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: stream,
    });
    expect(streamed.status).toBe(413);
  });

  it('reads a body just under the limit', async () => {
    const response = await postJson('/api-auth/', {
      username: 'nobody',
      password: 'pw',
      padding: 'y'.repeat(MAX_BODY_BYTES - 100),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ non_field_errors: ['Unable to log in with provided credentials.'] });
  });
});

describe('CORS_ALLOWED_ORIGINS', () => {
  const preflight = {
    method: 'OPTIONS',
    headers: {
      Origin: 'https://app.example.com',
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization,content-type',
    },
  };

  it('sends no CORS headers when empty (the default)', async () => {
    const response = await call('/auth/obtain_token/', preflight);
    expect(response.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });

  it('answers preflights and responses for a listed origin only', async () => {
    const origins = { CORS_ALLOWED_ORIGINS: 'https://app.example.com, https://admin.example.com' };
    const allowed = await callWithEnv(origins, '/auth/obtain_token/', preflight);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('Access-Control-Allow-Origin')).toBe('https://app.example.com');
    expect(allowed.headers.get('Access-Control-Allow-Headers')).toMatch(/Authorization/);

    const response = await callWithEnv(origins, '/', { headers: { Origin: 'https://admin.example.com' } });
    expect(response.headers.get('Access-Control-Allow-Origin')).toBe('https://admin.example.com');

    const other = await callWithEnv(origins, '/', { headers: { Origin: 'https://evil.example.com' } });
    expect(other.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });
});

describe('OPTIONS', () => {
  const origins = { CORS_ALLOWED_ORIGINS: 'https://app.example.com' };

  it.each([
    ['/auth/refresh_token/', 'POST, OPTIONS'],
    ['/tasks/', 'GET, POST, HEAD, OPTIONS'],
    ['/tasks/1/', 'GET, PUT, PATCH, DELETE, HEAD, OPTIONS'],
    ['/users/me', 'GET, PATCH, HEAD, OPTIONS'],
  ])('keeps Allow for %s when CORS is on, with and without a preflight', async (path, allow) => {
    for (const headers of [
      {} as Record<string, string>,
      { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'POST' },
      { Origin: 'https://evil.example.com', 'Access-Control-Request-Method': 'POST' },
    ]) {
      const response = await callWithEnv(origins, path, { method: 'OPTIONS', headers });
      expect(response.status).toBe(204);
      expect(response.headers.get('Allow')).toBe(allow);
    }
    const preflight = await callWithEnv(origins, path, {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.headers.get('Access-Control-Allow-Origin')).toBe('https://app.example.com');
    expect(preflight.headers.get('Access-Control-Allow-Methods')).toContain('POST');
  });

  it('answers 404 for a path the API does not serve, with or without CORS', async () => {
    for (const overrides of [{}, origins]) {
      const response = await callWithEnv(overrides, '/no/such/path/', {
        method: 'OPTIONS',
        headers: { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'GET' },
      });
      expect(response.status).toBe(404);
      expect(response.headers.get('Access-Control-Allow-Origin')).toBeNull();
    }
  });
});

describe('headers on every response', () => {
  it.each([
    ['GET', '/'],
    ['GET', '/no/such/route/'],
    ['POST', '/api-auth/'],
    ['DELETE', '/auth/obtain_token/'],
  ])('%s %s carries a request id and the secure headers', async (method, path) => {
    const response = await call(path, { method });
    expect(response.headers.get('X-Request-Id')).toMatch(/^[\w-]{8,}$/);
    expect(response.headers.get('X-Content-Type-Options')).toBe('nosniff');
    expect(response.headers.get('X-Frame-Options')).toBe('DENY');
    expect(response.headers.get('Referrer-Policy')).toBe('no-referrer');
    // Answers, errors included: whatever the Worker sends may not load or run anything from another host.
    expect(response.headers.get('Content-Security-Policy')).toMatch(
      /^default-src 'self'; script-src 'self';.*frame-ancestors 'none'/,
    );
    expect(response.headers.get('Permissions-Policy')).toMatch(/camera=\(\)/);
  });

  it.each([
    ['a refusal', '/users/me/', 'GET', 401],
    ['a preflight', '/tasks/', 'OPTIONS', 204],
    ['a missing route', '/nowhere/', 'GET', 404],
  ])('sends %s uncached and under the same policy', async (_, path, method, status) => {
    const response = await call(path, {
      method,
      headers:
        method === 'OPTIONS' ? { Origin: 'https://elsewhere.example', 'Access-Control-Request-Method': 'GET' } : {},
    });
    expect(response.status).toBe(status);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    expect(response.headers.get('Content-Security-Policy')).toMatch(
      /^default-src 'self'; script-src 'self'; style-src 'self';/,
    );
  });

  it('keeps an answer with a token out of every cache', async () => {
    const user = await createUser();
    const response = await postJson('/api-auth/', { username: user.username, password: user.password });
    expect(response.status).toBe(200);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
  });
});

describe('query parameters', () => {
  it('take the last of repeated values, as Django reads a QueryDict', async () => {
    const response = await call('/users/?limit=1&limit=2');
    expect(response.status).toBe(200);
    const { next } = (await response.json()) as { next: string | null; results: unknown[] };
    expect(next === null || next.includes('limit=2')).toBe(true);
    const invalid = await call('/users/?limit=2&limit=ten');
    expect(invalid.status).toBe(400);
  });
});

describe('an Authorization header of another scheme', () => {
  it('leaves the request anonymous whatever its length (only our prefixes are checked for size)', async () => {
    const response = await call('/', { headers: { Authorization: `Basic ${'A'.repeat(20_000)}` } });
    expect(response.status).toBe(200);
    const ours = await call('/', { headers: { Authorization: `Bearer ${'A'.repeat(20_000)}` } });
    expect(ours.status).toBe(401);
  });
});

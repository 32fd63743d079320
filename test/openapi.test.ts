import { describe, expect, it } from 'vitest';
import { createApp } from '../src/app';
import { call, SITE_URL } from './helpers';

interface OpenApiDocument {
  openapi: string;
  servers: { url: string }[];
  paths: Record<
    string,
    Record<
      string,
      {
        security?: unknown[];
        requestBody?: {
          content: Record<string, { schema: { required?: string[]; properties: Record<string, unknown> } }>;
        };
        responses: Record<string, unknown>;
        parameters?: { name: string; in: string }[];
      }
    >
  >;
  components: {
    schemas: Record<string, unknown>;
    securitySchemes: Record<string, { type: string; scheme?: string; in?: string; name?: string }>;
  };
}

const getDocument = async () => (await (await call('/openapi.json')).json()) as OpenApiDocument;

/** `/tasks/:id{[0-9]+}` -> `/tasks/{id}/`, as clients call it (trailing slash, DRF style). */
function documentedPath(honoPath: string): string {
  const path = honoPath.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}');
  return path === '/' ||
    path === '/docs' ||
    path.startsWith('/.well-known/') ||
    path.endsWith('.json') ||
    path.startsWith('/app/')
    ? path
    : `${path}/`;
}

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document whose server is SITE_URL', async () => {
    const response = await call('/openapi.json');
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
    const document = (await response.json()) as OpenApiDocument;
    expect(document.openapi).toBe('3.1.0');
    expect(document.servers).toEqual([{ url: SITE_URL }]);
  });

  it('documents every route the app serves, and nothing it does not', async () => {
    const document = await getDocument();
    const served = createApp()
      // The app's index.html for non-navigation GETs under /app/ (src/http/app-shell.ts) is no API route.
      .routes.filter((route) => route.method !== 'ALL' && route.path !== '/app/*')
      .map((route) => `${route.method.toLowerCase()} ${documentedPath(route.path)}`);
    const documented = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method} ${path}`),
    );
    expect(new Set(documented)).toEqual(new Set(served));
    expect(documented).toContain('post /auth/obtain_token/');
    expect(documented).toContain('delete /tasks/{id}/');
  });

  it('declares the bearer scheme and which operations need it', async () => {
    const document = await getDocument();
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(document.paths['/tasks/']!.post!.security).toEqual([{ bearerAuth: [] }]);
    expect(document.paths['/tasks/']!.get!.security).toEqual([{}, { bearerAuth: [] }]);
    expect(document.paths['/auth/obtain_token/']!.post!.security).toBeUndefined();
  });

  it('declares the session cookie as an apiKey in a cookie, for the routes that take it', async () => {
    const document = await getDocument();
    expect(document.components.securitySchemes.sessionCookie).toMatchObject({
      type: 'apiKey',
      in: 'cookie',
      name: '__Secure-session',
    });
    expect(document.paths['/auth/session/refresh/']!.post!.security).toEqual([{ sessionCookie: [] }]);
    expect(document.paths['/auth/session/']!.delete!.security).toEqual([{ sessionCookie: [] }]);
    expect(document.paths['/auth/session/']!.post!.security).toBeUndefined();
    expect(Object.keys(document.paths['/auth/session/refresh/']!.post!.responses)).toEqual(
      expect.arrayContaining(['200', '401', '403']),
    );
    expect(document.paths['/auth/session/refresh/']!.post!.responses['200']).toMatchObject({
      headers: { 'Set-Cookie': { schema: { type: 'string' } } },
    });
    expect(document.paths['/auth/session/']!.post!.responses['200']).toHaveProperty('headers.Set-Cookie');
  });

  it('describes request bodies, query parameters and the error shapes', async () => {
    const document = await getDocument();
    const create = document.paths['/tasks/']!.post!;
    const body = create.requestBody!.content['application/json']!.schema;
    expect(Object.keys(body.properties).sort()).toEqual(['due_to', 'person', 'title']);
    expect(body.required?.sort()).toEqual(['due_to', 'title']);
    expect(Object.keys(create.requestBody!.content)).toContain('application/x-www-form-urlencoded');
    expect(create.responses['400']).toMatchObject({
      content: { 'application/json': { schema: { $ref: '#/components/schemas/BadRequest' } } },
    });
    expect(create.responses['403']).toMatchObject({
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Detail' } } },
    });
    const list = document.paths['/tasks/']!.get!;
    expect(list.parameters!.map((p) => `${p.in}:${p.name}`)).toEqual([
      'query:limit',
      'query:offset',
      'query:person',
      'query:ordering',
      'query:cursor',
    ]);
    expect(document.paths['/tasks/{id}/']!.get!.parameters).toEqual([
      { name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } },
    ]);
  });

  it('resolves every $ref to a component schema', async () => {
    const document = await getDocument();
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map(
      ([, name]) => name!,
    );
    expect(refs.length).toBeGreaterThan(20);
    for (const name of refs) expect(document.components.schemas).toHaveProperty(name);
    expect(document.components.schemas.Task).toMatchObject({ required: ['id', 'url', 'title', 'person', 'due_to'] });
  });
});

describe('GET /docs', () => {
  it('serves an interactive page whose files are all our own, under a strict Content-Security-Policy', async () => {
    const response = await call('/docs');
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^text\/html/);
    const html = await response.text();
    const loaded = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map(([, url]) => url);
    expect(loaded).toEqual([
      'data:,',
      '/app/docs/swagger-ui.css',
      '/app/docs/swagger-ui-bundle.js',
      '/app/docs/init.js',
    ]);
    expect(html).not.toMatch(/<script>|<script [^s]|\son\w+=/); // no inline script
    expect(response.headers.get('Content-Security-Policy')).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
  });
});

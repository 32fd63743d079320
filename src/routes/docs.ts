/** The OpenAPI document of every route, and an interactive page (Swagger UI) to try them. */
import { swaggerUI } from '@hono/swagger-ui';
import type { MiddlewareHandler } from 'hono';
import { defineRoute, type Route } from '../http/route';
import { buildOpenApiDocument } from '../openapi/document';
import { perSettings } from '../per-settings';

/** The docs routes of an API made of `apiRoutes`; the document describes them too. */
export function docsRoutes(apiRoutes: readonly Route[]): Route[] {
  const routes: Route[] = [
    defineRoute({
      method: 'get',
      path: '/openapi.json',
      tag: 'api',
      summary: 'This OpenAPI 3.1 document',
      auth: 'none',
      responses: { 200: 'OpenApiDocument' },
      handler: (c) => c.body(documentFor(c.var.settings), 200, { 'Content-Type': 'application/json; charset=UTF-8' }),
    }),
    defineRoute({
      method: 'get',
      path: '/docs',
      tag: 'api',
      summary: 'Interactive documentation (Swagger UI)',
      auth: 'none',
      responses: { 200: 'Html' },
      handler: (c) => pageFor(c.var.settings)(c, async () => {}) as Promise<Response>,
    }),
  ];
  const documentFor = perSettings((settings) =>
    JSON.stringify(buildOpenApiDocument([...apiRoutes, ...routes], settings.siteUrl)),
  );
  const pageFor = perSettings((settings): MiddlewareHandler =>
    swaggerUI({ url: `${settings.siteUrl}/openapi.json`, title: 'Edge JWT auth + tasks API' }),
  );
  return routes;
}

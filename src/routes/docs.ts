/** The OpenAPI document of every route, and an interactive page (Swagger UI) to try them. */
import { swaggerUI } from '@hono/swagger-ui';
import { Hono, type MiddlewareHandler } from 'hono';
import type { Settings } from '../config';
import type { AppEnv } from '../env';
import { buildOpenApiDocument, type Operation } from '../openapi/document';
import { authOperations } from './auth';
import { rootOperations } from './root';
import { taskOperations } from './tasks';
import { userOperations } from './users';

const docsOperations: Operation[] = [
  { method: 'get', path: '/openapi.json', tag: 'api', summary: 'This OpenAPI 3.1 document', responses: { 200: null } },
  { method: 'get', path: '/docs', tag: 'api', summary: 'Interactive documentation (Swagger UI)', responses: { 200: null } },
];

export const operations: readonly Operation[] = [
  ...rootOperations,
  ...authOperations,
  ...taskOperations,
  ...userOperations,
  ...docsOperations,
];

const documents = new WeakMap<Settings, string>();
const pages = new WeakMap<Settings, MiddlewareHandler>();

export const docsRoutes = new Hono<AppEnv>();

docsRoutes.get('/openapi.json', (c) => {
  const settings = c.var.settings;
  let document = documents.get(settings);
  if (document === undefined) {
    document = JSON.stringify(buildOpenApiDocument(operations, settings.siteUrl));
    documents.set(settings, document);
  }
  return c.body(document, 200, { 'Content-Type': 'application/json; charset=UTF-8' });
});

docsRoutes.get('/docs', (c, next) => {
  const settings = c.var.settings;
  let page = pages.get(settings);
  if (!page) {
    page = swaggerUI({ url: `${settings.siteUrl}/openapi.json`, title: 'Edge JWT auth + tasks API' });
    pages.set(settings, page);
  }
  return page(c, next);
});

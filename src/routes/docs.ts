/** The OpenAPI document of every route, and an interactive page (Swagger UI) to try them. */
import { swaggerUI } from '@hono/swagger-ui';
import { Hono, type MiddlewareHandler } from 'hono';
import { perSettings } from '../config';
import type { AppEnv } from '../env';
import { buildOpenApiDocument, type Operation } from '../openapi/document';
import { authOperations } from './auth';
import { jwksOperations } from './jwks';
import { rootOperations } from './root';
import { taskOperations } from './tasks';
import { userOperations } from './users';

const docsOperations: Operation[] = [
  { method: 'get', path: '/openapi.json', tag: 'api', summary: 'This OpenAPI 3.1 document', responses: { 200: null } },
  {
    method: 'get',
    path: '/docs',
    tag: 'api',
    summary: 'Interactive documentation (Swagger UI)',
    responses: { 200: null },
  },
];

export const operations: readonly Operation[] = [
  ...rootOperations,
  ...authOperations,
  ...jwksOperations,
  ...taskOperations,
  ...userOperations,
  ...docsOperations,
];

const documentFor = perSettings((settings) => JSON.stringify(buildOpenApiDocument(operations, settings.siteUrl)));
const pageFor = perSettings((settings): MiddlewareHandler =>
  swaggerUI({ url: `${settings.siteUrl}/openapi.json`, title: 'Edge JWT auth + tasks API' }),
);

export const docsRoutes = new Hono<AppEnv>();

docsRoutes.get('/openapi.json', (c) =>
  c.body(documentFor(c.var.settings), 200, { 'Content-Type': 'application/json; charset=UTF-8' }),
);

docsRoutes.get('/docs', (c, next) => pageFor(c.var.settings)(c, next));

/**
 * The OpenAPI document of every route, and an interactive page (Swagger UI) to try them. Swagger
 * UI's files are our own static assets (copied from the pinned swagger-ui-dist by the app's build,
 * under /app/docs/), so the page needs no other host.
 */
import { defineRoute, type Route } from '../http/route';
import { contentSecurityPolicy } from '../http/security-headers';
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
      handler: (c) =>
        c.body(documentFor(c.get('settings')), 200, { 'Content-Type': 'application/json; charset=UTF-8' }),
    }),
    defineRoute({
      method: 'get',
      path: '/docs',
      tag: 'api',
      summary: 'Interactive documentation (Swagger UI)',
      auth: 'none',
      responses: { 200: 'Html' },
      handler: (c) => c.html(DOCS_PAGE, 200, { 'Content-Security-Policy': DOCS_POLICY }),
    }),
  ];
  const documentFor = perSettings((settings) =>
    JSON.stringify(buildOpenApiDocument([...apiRoutes, ...routes], settings.siteUrl)),
  );
  return routes;
}

/** The origin's policy, but for the inline styles Swagger UI sets. */
const DOCS_POLICY = contentSecurityPolicy({ inlineStyles: true });

const DOCS_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Edge JWT auth + tasks API</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="/app/docs/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/app/docs/swagger-ui-bundle.js"></script>
    <script src="/app/docs/init.js"></script>
  </body>
</html>
`;

/** Builds the Hono app: middleware, the declared routes, the error and not-found handlers. */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { getSettings } from './config';
import { detail, notFound } from './drf/errors';
import type { AppEnv } from './env';
import { serveAppShell } from './http/app-shell';
import { corsFromSettings } from './http/cors';
import { d1Session } from './http/d1-session';
import { renderError } from './http/error-handler';
import { securityHeaders } from './http/security-headers';
import { registerRoutes } from './http/route';
import { MAX_BODY_BYTES } from './limits';
import { routes } from './routes';

const SECURITY_HEADERS = securityHeaders();

export function createApp(): Hono<AppEnv> {
  // strict: false makes every path answer with and without its trailing slash.
  const app = new Hono<AppEnv>({ strict: false });

  app.use(requestId());
  // Ours (src/http/security-headers.ts, shared with the assets layer), then hono's for the rest
  // (Strict-Transport-Security, the Cross-Origin-*-Policy headers, ...).
  app.use(secureHeaders({ referrerPolicy: false, xFrameOptions: false, xContentTypeOptions: false }));
  app.use(async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
      // A route may set its own (/docs allows Swagger UI's inline styles).
      if (!c.res.headers.has(name)) c.header(name, value);
    }
    // Answers carry tokens, emails and other users' data: no cache keeps them, unless a route says
    // otherwise (the public keys of /.well-known/jwks.json).
    if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
  });
  app.use(async (c, next) => {
    c.set('settings', getSettings(c.env));
    await next();
  });
  app.use(corsFromSettings);
  app.use(d1Session);
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw detail(413, `Request body is too large (limit ${MAX_BODY_BYTES} bytes).`);
      },
    }),
  );

  registerRoutes(app, routes);
  app.get('/app/*', serveAppShell);

  app.notFound(() => {
    throw notFound();
  });
  app.onError(renderError);
  return app;
}

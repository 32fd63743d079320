import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { AppEnv } from '../env';
import { perSettings } from '../per-settings';

const corsFor = perSettings((settings) =>
  cors({
    origin: settings.corsAllowedOrigins.includes('*') ? '*' : [...settings.corsAllowedOrigins],
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type'],
    exposeHeaders: ['Retry-After', 'WWW-Authenticate', 'X-Request-Id'],
    maxAge: 600,
  }),
);

const noop = async () => {};

/**
 * CORS for the origins in CORS_ALLOWED_ORIGINS; no CORS headers at all when it is empty.
 * An OPTIONS request first gets the route table's own answer (204 with `Allow`, or 404 for an
 * unknown path), and only a 204 gets the preflight headers on top.
 */
export const corsFromSettings: MiddlewareHandler<AppEnv> = async (c, next) => {
  const settings = c.var.settings;
  if (settings.corsAllowedOrigins.length === 0) return next();
  if (c.req.method !== 'OPTIONS') return corsFor(settings)(c, next);
  await next();
  if (c.res.status === 204) c.res = (await corsFor(settings)(c, noop)) as Response;
};

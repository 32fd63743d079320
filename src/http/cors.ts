import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { perSettings } from '../config';
import type { AppEnv } from '../env';

const corsFor = perSettings((settings) =>
  cors({
    origin: settings.corsAllowedOrigins.includes('*') ? '*' : [...settings.corsAllowedOrigins],
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type'],
    exposeHeaders: ['Retry-After', 'WWW-Authenticate'],
    maxAge: 600,
  }),
);

/** CORS for the origins in CORS_ALLOWED_ORIGINS; no CORS headers at all when it is empty. */
export const corsFromSettings: MiddlewareHandler<AppEnv> = async (c, next) => {
  const settings = c.var.settings;
  if (settings.corsAllowedOrigins.length === 0) return next();
  return corsFor(settings)(c, next);
};

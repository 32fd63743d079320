import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { AppEnv } from '../env';
import { perSettings } from '../per-settings';
import { SESSION_COOKIE_PATH } from './session-cookie';

const EXPOSED_HEADERS = ['Retry-After', 'WWW-Authenticate', 'X-Request-Id', 'X-D1-Bookmark'];

/** The session routes: the only ones that take a cookie, so the only ones that allow credentials. */
const isSessionPath = (path: string) => `${path}/`.startsWith(SESSION_COOKIE_PATH);

/**
 * The OpenID Connect provider's endpoints that apps call from any origin (a single-page app is a
 * public client): they take no cookie, and a client proves itself in the request, so any origin may
 * read their answers, whatever CORS_ALLOWED_ORIGINS says.
 */
const PROVIDER_PATHS = new Set([
  '/.well-known/openid-configuration',
  '/.well-known/jwks.json',
  '/oauth/token',
  '/oauth/userinfo',
  '/oauth/revoke',
]);
const isProviderPath = (path: string) => PROVIDER_PATHS.has(path.replace(/\/$/, ''));

const providerPolicy = cors({
  origin: '*',
  allowMethods: ['GET', 'POST', 'OPTIONS'],
  allowHeaders: ['Authorization', 'Content-Type'],
  exposeHeaders: EXPOSED_HEADERS,
  maxAge: 600,
});

const policiesFor = perSettings((settings) => {
  const listedOrigins = settings.corsAllowedOrigins.filter((origin) => origin !== '*');
  return {
    api: cors({
      origin: settings.corsAllowedOrigins.includes('*') ? '*' : [...settings.corsAllowedOrigins],
      allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      allowHeaders: ['Authorization', 'Content-Type', 'X-D1-Bookmark'],
      exposeHeaders: EXPOSED_HEADERS,
      maxAge: 600,
    }),
    // Credentials for listed origins only: `*` never shares the session cookie.
    sessionOrigins: new Set(listedOrigins),
    session: cors({
      origin: listedOrigins,
      credentials: true,
      allowMethods: ['POST', 'DELETE', 'OPTIONS'],
      allowHeaders: ['Content-Type'],
      exposeHeaders: EXPOSED_HEADERS,
      maxAge: 600,
    }),
  };
});

const noop = async () => {};

/**
 * CORS for the origins in CORS_ALLOWED_ORIGINS; no CORS headers at all when it is empty (but on
 * the provider's PROVIDER_PATHS), and none on the session routes for an origin it does not list by
 * name.
 * An OPTIONS request first gets the route table's own answer (204 with `Allow`, or 404 for an
 * unknown path), and only a 204 gets the preflight headers on top.
 */
export const corsFromSettings: MiddlewareHandler<AppEnv> = async (c, next) => {
  const settings = c.get('settings');
  const provider = isProviderPath(c.req.path);
  if (settings.corsAllowedOrigins.length === 0 && !provider) return next();
  const policies = policiesFor(settings);
  let policy = provider ? providerPolicy : policies.api;
  if (isSessionPath(c.req.path)) {
    if (!policies.sessionOrigins.has(c.req.header('Origin') ?? '')) return next();
    policy = policies.session;
  }
  if (c.req.method !== 'OPTIONS') return policy(c, next);
  await next();
  if (c.res.status === 204) c.res = (await policy(c, noop)) as Response;
};

/**
 * One declaration per route: method, path, request schemas, auth requirement, responses and
 * handler in one object. `registerRoutes` serves it with Hono and the OpenAPI document
 * (src/openapi/document.ts) describes it, from the same values: the `auth` that enforces a token
 * is the `auth` the document shows, and the statuses every route can answer (400, 401, 404, 413,
 * 415, 429, 500, 503) are derived here from what the route declares.
 */
import type { Context, Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import type * as z from 'zod';
import { authenticate } from '../auth/middleware';
import { methodNotAllowed, notAuthenticated, notFound } from '../drf/errors';
import { validate } from '../drf/validation';
import type { AppEnv, AuthUser } from '../env';
import type { Scope } from '../oauth/scopes';
import type { ResponseName } from '../openapi/schemas';
import { validBody } from './body';
import { limitPerIp } from './rate-limit';
import { checkOrigin } from './trusted-origin';

const trustedOriginOnly = createMiddleware<AppEnv>(async (c, next) => {
  checkOrigin(c, { required: true });
  await next();
});

type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * `none`: the Authorization header is not read; `optional`: read when sent; `required`: 401
 * without. `session`: the handler reads the session cookie instead, and only requests from a
 * trusted Origin reach it (403 otherwise, see trusted-origin.ts).
 */
export type Auth = 'none' | 'optional' | 'required' | 'session';

type QuerySchema = z.ZodObject | undefined;
type BodySchema = z.ZodType | undefined;

export interface RouteInput<A extends Auth, Q extends QuerySchema, B extends BodySchema> {
  /** The caller, from the access token alone. */
  user: A extends 'required' ? AuthUser : AuthUser | null;
  query: Q extends z.ZodObject ? z.output<Q> : undefined;
  /** A path parameter, decoded (`{token}`). */
  param: (name: string) => string;
  /** The `{id}` of the path as a number; 404 when it is too large to be one. */
  id: () => number;
  /** The body, read and validated when the handler asks (a handler may check permissions first). */
  body: () => Promise<B extends z.ZodType ? z.output<B> : undefined>;
}

export interface RouteDeclaration<A extends Auth, Q extends QuerySchema, B extends BodySchema> {
  method: HttpMethod;
  /** As clients call it, with `{name}` for a path parameter: `/tasks/{id}/`. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  auth: A;
  /**
   * An access token of the OpenID Connect provider with this scope works here too, for its user
   * and never as staff (src/auth/oauth-bearer.ts); on routes without one, such a token is a 401.
   */
  oauthScope?: Scope;
  /** Per-client-IP rate limit, counted under this name (several routes may share one). */
  rateLimit?: string;
  query?: Q;
  body?: B;
  /**
   * `false` for a GET with a side effect (an activation link): HEAD answers 405 instead of running
   * it, since link scanners send HEAD.
   */
  head?: false;
  /** The statuses the handler itself answers: status -> response shape, or null for no body. */
  responses: Record<number, ResponseName | null>;
  /** Response headers worth documenting, by status: header name -> description. */
  headers?: Record<number, Record<string, string>>;
  handler: (c: Context<AppEnv>, input: RouteInput<A, Q, B>) => Response | Promise<Response>;
}

export type Route = RouteDeclaration<Auth, QuerySchema, BodySchema>;

/** A route declaration, typed so that the handler sees its own query, body and caller. */
export function defineRoute<A extends Auth, Q extends QuerySchema = undefined, B extends BodySchema = undefined>(
  declaration: RouteDeclaration<A, Q, B>,
): Route {
  return declaration as unknown as Route;
}

/** Path parameters: the pattern Hono matches and the schema the document shows. */
const PATH_PARAMETERS = new Map([
  ['id', { pattern: '{[0-9]+}', schema: { type: 'integer', minimum: 1 } }],
  ['token', { pattern: '', schema: { type: 'string' } }],
  // A browser session's id (the `sid` of its tokens): other characters are a 404 before
  // the handler.
  ['session', { pattern: '{[0-9a-f-]+}', schema: { type: 'string', format: 'uuid' } }],
  // An OAuth client's id (base64url).
  ['client', { pattern: '{[A-Za-z0-9_-]+}', schema: { type: 'string' } }],
  // An id of AUTH_PROVIDERS.
  ['provider', { pattern: '{[a-z0-9-]+}', schema: { type: 'string' } }],
]);

export const pathParameters = (path: string) =>
  [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({ name: name!, schema: PATH_PARAMETERS.get(name!)!.schema }));

/** `/tasks/{id}/` -> `/tasks/:id{[0-9]+}` (the app answers with and without the trailing slash). */
function honoPath(path: string): string {
  const converted = path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const parameter = PATH_PARAMETERS.get(name);
    if (!parameter) throw new Error(`Unknown path parameter {${name}} in ${path}`);
    return `:${name}${parameter.pattern}`;
  });
  return converted.length > 1 ? converted.replace(/\/$/, '') : converted;
}

/** Every status a route can answer besides its own: derived, so the document cannot forget one. */
export function derivedResponses(route: Route): Map<number, ResponseName> {
  const derived = new Map<number, ResponseName>();
  if (route.query || route.body) derived.set(400, 'BadRequest');
  if (route.auth === 'optional' || route.auth === 'required') derived.set(401, 'Detail');
  if (route.auth === 'session' || route.oauthScope) derived.set(403, 'Detail');
  if (pathParameters(route.path).length > 0) derived.set(404, 'Detail');
  // The body limit applies before any route: whatever a route reads, a body may be too large.
  derived.set(413, 'Detail');
  if (route.body) derived.set(415, 'Detail');
  if (route.rateLimit) derived.set(429, 'Detail');
  derived.set(500, 'Detail');
  // D1 failed or did not answer in time (src/db/guarded-d1.ts).
  return derived.set(503, 'Detail');
}

/** Each query parameter's last value, as Django's QueryDict.get reads a repeated one. */
function lastValues(c: Context<AppEnv>): Record<string, string> {
  return Object.fromEntries(Object.entries(c.req.queries()).map(([name, values]) => [name, values.at(-1)!]));
}

function pathId(c: Context<AppEnv>): number {
  const id = Number(c.req.param('id'));
  if (!Number.isSafeInteger(id)) throw notFound();
  return id;
}

function handle(route: Route, allowed: readonly string[]) {
  return async (c: Context<AppEnv>) => {
    if (c.req.method === 'HEAD' && !allowed.includes('HEAD')) throw methodNotAllowed('HEAD', allowed);
    const user = route.auth === 'optional' || route.auth === 'required' ? c.get('user') : null;
    if (route.auth === 'required' && !user) throw notAuthenticated();
    const query = route.query ? validate(route.query, lastValues(c)) : undefined;
    const body = async () => (route.body ? validBody(c, route.body) : undefined);
    const input = { user, query, param: (name: string) => c.req.param(name) ?? '', id: () => pathId(c), body };
    return route.handler(c, input as RouteInput<Auth, QuerySchema, BodySchema>);
  };
}

/** The methods a path answers: its routes', HEAD where a GET allows it, and OPTIONS. */
function allowedMethods(routes: readonly Route[]): string[] {
  const methods = routes.map((route) => route.method.toUpperCase());
  const head = routes.some((route) => route.method === 'get' && route.head !== false);
  return [...methods, ...(head ? ['HEAD'] : []), 'OPTIONS'];
}

/**
 * Serves every route, and gives each path an answer for the methods it does not serve: OPTIONS
 * lists the allowed ones (204 with `Allow`), anything else is DRF's 405. Paths without parameters
 * come first, so that `/api-activate/resend/` is never taken for an `/api-activate/{token}/`.
 */
export function registerRoutes(app: Hono<AppEnv>, routes: readonly Route[]): void {
  const routesByPath = new Map<string, Route[]>();
  for (const route of routes) {
    const path = honoPath(route.path);
    routesByPath.set(path, [...(routesByPath.get(path) ?? []), route]);
  }
  const hasParameter = (path: string) => path.includes(':');
  const paths = [...routesByPath.keys()].sort((a, b) => Number(hasParameter(a)) - Number(hasParameter(b)));
  for (const path of paths) {
    const pathRoutes = routesByPath.get(path)!;
    const allowed = allowedMethods(pathRoutes);
    for (const route of pathRoutes) {
      const middleware = [
        ...(route.auth === 'session' ? [trustedOriginOnly] : []),
        ...(route.rateLimit ? [limitPerIp(route.rateLimit)] : []),
        ...(route.auth === 'optional' || route.auth === 'required' ? [authenticate(route.oauthScope)] : []),
      ];
      app.on([route.method.toUpperCase()], [path], ...middleware, handle(route, allowed));
    }
    app.all(path, (c) => {
      if (c.req.method === 'OPTIONS') return c.body(null, 204, { Allow: allowed.join(', ') });
      throw methodNotAllowed(c.req.method, allowed);
    });
  }
}

/**
 * One declaration per route: method, path, request schemas, auth requirement, responses and
 * handler in one object. `registerRoutes` serves it with Hono and the OpenAPI document
 * (src/openapi/document.ts) describes it, from the same values: the `auth` that enforces a token
 * is the `auth` the document shows, and the statuses every route can answer (400, 401, 404, 413,
 * 415, 429, 500) are derived here from what the route declares.
 */
import type { Context, Hono } from 'hono';
import type * as z from 'zod';
import { authenticate } from '../auth/middleware';
import { methodNotAllowed, notAuthenticated } from '../drf/errors';
import { validate } from '../drf/validation';
import type { AppEnv, AuthUser } from '../env';
import type { ResponseName } from '../openapi/schemas';
import { validBody } from './body';
import { limitPerIp } from './rate-limit';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** `none`: the Authorization header is not read; `optional`: read when sent; `required`: 401 without. */
export type Auth = 'none' | 'optional' | 'required';

type QuerySchema = z.ZodObject | undefined;
type BodySchema = z.ZodType | undefined;

export interface RouteInput<A extends Auth, Q extends QuerySchema, B extends BodySchema> {
  /** The caller, from the access token alone. */
  user: A extends 'required' ? AuthUser : AuthUser | null;
  query: Q extends z.ZodObject ? z.output<Q> : undefined;
  /** A path parameter: `{id}` is digits only (its absence from the route table is a 404). */
  param: (name: string) => string;
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
  /** Per-client-IP rate limit, counted under this name (several routes may share one). */
  rateLimit?: string;
  query?: Q;
  body?: B;
  /** The statuses the handler itself answers: status -> response shape, or null for no body. */
  responses: Record<number, ResponseName | null>;
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
  if (route.auth !== 'none') derived.set(401, 'Detail');
  if (pathParameters(route.path).length > 0) derived.set(404, 'Detail');
  // The body limit applies before any route: whatever a route reads, a body may be too large.
  if (route.method !== 'get') derived.set(413, 'Detail');
  if (route.body) derived.set(415, 'Detail');
  if (route.rateLimit) derived.set(429, 'Detail');
  return derived.set(500, 'Detail');
}

function handle(route: Route) {
  return async (c: Context<AppEnv>) => {
    const user = route.auth === 'none' ? null : c.var.user;
    if (route.auth === 'required' && !user) throw notAuthenticated();
    const query = route.query ? validate(route.query, c.req.query()) : undefined;
    const body = async () => (route.body ? validBody(c, route.body) : undefined);
    return route.handler(c, { user, query, param: (name) => c.req.param(name) ?? '', body } as RouteInput<
      Auth,
      QuerySchema,
      BodySchema
    >);
  };
}

const OPTIONS_AND_HEAD = (methods: string[]) => [...methods, ...(methods.includes('GET') ? ['HEAD'] : []), 'OPTIONS'];

/**
 * Serves every route, then gives each path an answer for the methods it does not serve:
 * OPTIONS lists the allowed ones (204 with `Allow`), anything else is DRF's 405.
 */
export function registerRoutes(app: Hono<AppEnv>, routes: readonly Route[]): void {
  const methodsByPath = new Map<string, string[]>();
  for (const route of routes) {
    const path = honoPath(route.path);
    const middleware = [
      ...(route.rateLimit ? [limitPerIp(route.rateLimit)] : []),
      ...(route.auth === 'none' ? [] : [authenticate]),
    ];
    app.on([route.method.toUpperCase()], [path], ...middleware, handle(route));
    methodsByPath.set(path, [...(methodsByPath.get(path) ?? []), route.method.toUpperCase()]);
  }
  for (const [path, methods] of methodsByPath) {
    const allowed = OPTIONS_AND_HEAD(methods);
    app.all(path, (c) => {
      if (c.req.method === 'OPTIONS') return c.body(null, 204, { Allow: allowed.join(', ') });
      throw methodNotAllowed(c.req.method, allowed);
    });
  }
}

/**
 * The OpenAPI 3.1 document, built from the route declarations that serve the API (src/http/route.ts)
 * and the same zod schemas that validate requests; assembled once per isolate.
 */
import * as z from 'zod';
import { derivedResponses, pathParameters, type Route } from '../http/route';
import { SESSION_COOKIE } from '../http/session-cookie';
import { MAX_BODY_BYTES } from '../limits';
import { components, MEDIA_TYPES, type ResponseName } from './schemas';

const STATUS_TEXT = new Map<number, string>([
  [200, 'OK'],
  [201, 'Created'],
  [204, 'No Content'],
  [302, 'Found: see Location'],
  [400, 'Invalid input (field errors, or `detail` for a malformed body)'],
  [401, 'Missing, invalid or expired token'],
  [403, 'Not allowed'],
  [404, 'Not found'],
  [413, `Body over ${MAX_BODY_BYTES / 1024} KiB`],
  [415, 'Unsupported media type'],
  [429, 'Rate limited; see Retry-After'],
  [500, 'Server misconfigured (the message names the setting) or an unexpected error'],
  [503, 'The database or a provider could not be reached in time; try again later (see Retry-After)'],
]);

const SAFE_INTEGER_BOUNDS = new Set([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);

/** Drops what JSON Schema output adds but OpenAPI does not need: `$schema`, `$id`, int64 bounds. */
function tidy(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(tidy);
  if (node === null || typeof node !== 'object') return node;
  const entries = Object.entries(node)
    .filter(
      ([key, value]) =>
        key !== '$schema' &&
        key !== '$id' &&
        !(['minimum', 'maximum'].includes(key) && SAFE_INTEGER_BOUNDS.has(value as number)),
    )
    .map(([key, value]) => [key, tidy(value)]);
  return Object.fromEntries(entries);
}

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  tidy(z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }));

/** A field is required when it refuses a missing value (the transforms hide this from toJSONSchema). */
const isRequired = (schema: z.ZodType) => !schema.safeParse(undefined).success;

function requestBody(schema: z.ZodType) {
  const body = jsonSchema(schema, 'input') as Record<string, unknown>;
  if (schema instanceof z.ZodObject) {
    body.required = Object.entries(schema.shape as Record<string, z.ZodType>)
      .filter(([, field]) => isRequired(field))
      .map(([name]) => name);
  }
  const content = { schema: body };
  return {
    // An empty body reads as {}: it is required only when {} is not valid.
    required: !schema.safeParse({}).success,
    content: {
      'application/json': content,
      'application/x-www-form-urlencoded': content,
      'multipart/form-data': content,
    },
  };
}

function parameters(route: Route) {
  const inPath = pathParameters(route.path).map(({ name, schema }) => ({ name, in: 'path', required: true, schema }));
  const inQuery = Object.entries((route.query?.shape ?? {}) as Record<string, z.ZodType>).map(([name, field]) => {
    const { description, ...schema } = jsonSchema(field, 'input') as { description?: string };
    return { name, in: 'query', required: isRequired(field), ...(description ? { description } : {}), schema };
  });
  return [...inPath, ...inQuery];
}

function response(status: number, name: ResponseName | null, headerDescriptions: Record<string, string> = {}) {
  const description = STATUS_TEXT.get(status) ?? 'Response';
  const headerEntries = Object.entries(headerDescriptions);
  const headers = headerEntries.length
    ? {
        headers: Object.fromEntries(
          headerEntries.map(([header, text]) => [header, { description: text, schema: { type: 'string' } }]),
        ),
      }
    : {};
  if (name === null) return { description, ...headers };
  const schema = { $ref: `#/components/schemas/${name}` };
  return { description, ...headers, content: { [MEDIA_TYPES.get(name) ?? 'application/json']: { schema } } };
}

function responses(route: Route) {
  const all = new Map<number, ResponseName | null>(derivedResponses(route));
  for (const [status, name] of Object.entries(route.responses)) all.set(Number(status), name);
  const sorted = [...all].sort(([a], [b]) => a - b);
  return Object.fromEntries(
    sorted.map(([status, name]) => [String(status), response(status, name, route.headers?.[status])]),
  );
}

/** `postAuthObtainToken` for POST /auth/obtain_token/; `getApiRoot` for GET /. */
function operationId({ method, path }: Route): string {
  const words = path
    .replace(/[{}]/g, '')
    .replace(/[^a-zA-Z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''));
  return `${method}${words || 'ApiRoot'}`;
}

/** The `security` of an operation, from the same `auth` value that enforces it. */
const SECURITY = new Map([
  ['required', [{ bearerAuth: [] }]],
  ['optional', [{}, { bearerAuth: [] }]],
  ['session', [{ sessionCookie: [] }]],
]);

export function buildOpenApiDocument(routes: readonly Route[], siteUrl: string) {
  const paths = new Map<string, Record<string, unknown>>();
  for (const route of routes) {
    const parameterList = parameters(route);
    const security = SECURITY.get(route.auth);
    paths.set(route.path, {
      ...paths.get(route.path),
      [route.method]: {
        tags: [route.tag],
        summary: route.summary,
        ...(route.description ? { description: route.description } : {}),
        operationId: operationId(route),
        ...(parameterList.length ? { parameters: parameterList } : {}),
        ...(route.body ? { requestBody: requestBody(route.body) } : {}),
        responses: responses(route),
        ...(security ? { security } : {}),
      },
    });
  }
  const { schemas } = z.toJSONSchema(components, {
    target: 'draft-2020-12',
    uri: (id) => `#/components/schemas/${id}`,
  });
  return {
    openapi: '3.1.0',
    info: {
      title: 'Edge JWT auth + tasks API',
      version: '1.0.0',
      description:
        'The Django REST Framework + djangorestframework-jwt tutorial API on Cloudflare Workers. ' +
        'Send tokens as `Authorization: Bearer <token>` or `Authorization: JWT <token>`. ' +
        'Every path also answers without its trailing slash.',
    },
    servers: [{ url: siteUrl }],
    paths: Object.fromEntries(paths),
    components: {
      schemas: tidy(schemas),
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'An access token from /auth/obtain_token/. The prefix `JWT` works as well as `Bearer`.',
        },
        sessionCookie: {
          type: 'apiKey',
          in: 'cookie',
          name: SESSION_COOKIE,
          description:
            'The HttpOnly refresh cookie that POST /auth/session/ sets (path /auth/session/). Sent by the browser, never read by scripts; requests must come from a trusted Origin.',
        },
      },
    },
  };
}

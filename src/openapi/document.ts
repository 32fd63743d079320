/**
 * The OpenAPI 3.1 document, built from the same zod schemas that validate requests. Each route
 * module lists its operations; the document is assembled once per isolate.
 */
import * as z from 'zod';
import { components, type ResponseName } from './schemas';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface Operation {
  method: HttpMethod;
  /** The path as clients call it, with `{id}` for a path parameter: `/tasks/{id}/`. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  /** `required`: 401 without a valid token; `optional`: a token is read when sent. */
  auth?: 'required' | 'optional';
  body?: z.ZodType;
  query?: z.ZodObject;
  /** Status -> a named response shape, or null for no body (204). */
  responses: Record<number, ResponseName | null>;
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  400: 'Invalid input (field errors, or `detail` for a malformed body)',
  401: 'Missing, invalid or expired token',
  403: 'Not allowed',
  404: 'Not found',
  405: 'Method not allowed',
  413: 'Body over 64 KiB',
  415: 'Unsupported media type',
};

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
  return { required: true, content: { 'application/json': content, 'application/x-www-form-urlencoded': content } };
}

function parameters(operation: Operation) {
  const pathParameters = [...operation.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: name === 'id' ? { type: 'integer', minimum: 1 } : { type: 'string' },
  }));
  const queryParameters = Object.entries((operation.query?.shape ?? {}) as Record<string, z.ZodType>).map(
    ([name, field]) => {
      const { description, ...schema } = jsonSchema(field, 'input') as { description?: string };
      return { name, in: 'query', required: isRequired(field), ...(description ? { description } : {}), schema };
    },
  );
  return [...pathParameters, ...queryParameters];
}

function responsesOf(operation: Operation) {
  return Object.fromEntries(
    Object.entries(operation.responses).map(([status, name]) => {
      const description = STATUS_TEXT[Number(status)] ?? 'Response';
      if (name === null) return [status, { description }];
      const schema = { $ref: `#/components/schemas/${name}` };
      return [status, { description, content: { 'application/json': { schema } } }];
    }),
  );
}

/** `postAuthObtainToken` for POST /auth/obtain_token/; `getApiRoot` for GET /. */
function operationId({ method, path }: Operation): string {
  const words = path
    .replace(/[{}]/g, '')
    .replace(/[^a-zA-Z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''));
  return `${method}${words || 'ApiRoot'}`;
}

const SECURITY = { required: [{ bearerAuth: [] }], optional: [{}, { bearerAuth: [] }] };

export function buildOpenApiDocument(operations: readonly Operation[], siteUrl: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of operations) {
    const parameterList = parameters(operation);
    (paths[operation.path] ??= {})[operation.method] = {
      tags: [operation.tag],
      summary: operation.summary,
      ...(operation.description ? { description: operation.description } : {}),
      operationId: operationId(operation),
      ...(parameterList.length ? { parameters: parameterList } : {}),
      ...(operation.body ? { requestBody: requestBody(operation.body) } : {}),
      responses: responsesOf(operation),
      ...(operation.auth ? { security: SECURITY[operation.auth] } : {}),
    };
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
    paths,
    components: {
      schemas: tidy(schemas),
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'An access token from /auth/obtain_token/. The prefix `JWT` works as well as `Bearer`.',
        },
      },
    },
  };
}

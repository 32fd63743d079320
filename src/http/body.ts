/** Reads a request body as DRF's JSON, form and multipart parsers would, and validates it. */
import type { Context } from 'hono';
import type * as z from 'zod';
import { detail } from '../drf/errors';
import { validate } from '../drf/validation';

const FORM_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data']);

function mediaType(c: Context): string {
  return (c.req.header('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
}

const isJson = (type: string) => type === 'application/json' || /^application\/[\w.+-]+\+json$/.test(type);

/** The parsed body: `{}` when there is none; 400 for malformed input, 415 for an unknown type. */
export async function readBody(c: Context): Promise<unknown> {
  const type = mediaType(c);
  if (FORM_TYPES.has(type)) {
    try {
      const form = await c.req.parseBody();
      return Object.fromEntries(Object.entries(form).filter(([, value]) => typeof value === 'string'));
    } catch (error) {
      throw detail(400, `Form parse error - ${error instanceof Error ? error.message : 'malformed body'}`);
    }
  }
  const text = await c.req.text();
  if (text.trim() === '') return {};
  if (isJson(type)) {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw detail(400, `JSON parse error - ${error instanceof Error ? error.message : 'malformed JSON'}`);
    }
  }
  throw detail(415, `Unsupported media type "${type || 'none'}" in request.`);
}

/** The request body (JSON, form or multipart), validated by `schema`. */
export async function validBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.output<T>> {
  return validate(schema, await readBody(c));
}

/**
 * The one place for error shapes. Every client-facing failure is an ApiError that carries its
 * status and its Django REST Framework body; `renderError` turns anything thrown into a response.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { SettingsError } from './config';

/** `{"field": ["message", ...]}`; the key `non_field_errors` holds errors about the whole body. */
export type FieldErrors = Record<string, string[]>;
export type ErrorBody = { detail: string } | FieldErrors;

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly body: ErrorBody,
    readonly headers: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super(typeof body.detail === 'string' ? body.detail : JSON.stringify(body), options);
    this.name = 'ApiError';
  }
}

export const WWW_AUTHENTICATE = 'Bearer realm="api"';

export const detail = (status: ContentfulStatusCode, message: string, headers?: Record<string, string>) =>
  new ApiError(status, { detail: message }, headers);

export const fieldErrors = (errors: FieldErrors) => new ApiError(400, errors);

export const nonFieldError = (message: string, cause?: unknown) =>
  new ApiError(400, { non_field_errors: [message] }, {}, { cause });

/** 401 with the challenge header DRF sends for token authentication. */
export const authenticationFailed = (message: string, cause?: unknown) =>
  new ApiError(401, { detail: message }, { 'WWW-Authenticate': WWW_AUTHENTICATE }, { cause });

export const notAuthenticated = () => authenticationFailed('Authentication credentials were not provided.');

export const permissionDenied = () => detail(403, 'You do not have permission to perform this action.');

export const notFound = () => detail(404, 'Not found.');

export const methodNotAllowed = (method: string, allowed: readonly string[]) =>
  detail(405, `Method "${method}" not allowed.`, { Allow: allowed.join(', ') });

export function renderError(error: unknown, c: Context): Response {
  if (error instanceof ApiError) {
    return c.json(error.body, error.status, error.headers);
  }
  if (error instanceof SettingsError) {
    console.error(`Server misconfigured: ${error.message}`);
    return c.json({ detail: `Server misconfigured: ${error.message}` }, 500);
  }
  if (error instanceof HTTPException && error.status < 500) {
    return c.json({ detail: error.message || 'Bad request.' }, error.status);
  }
  console.error('Unhandled error', error);
  return c.json({ detail: 'A server error occurred.' }, 500);
}

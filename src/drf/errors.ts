/**
 * The one place for error shapes. Every client-facing failure is an ApiError that carries its
 * status and its Django REST Framework body; the app's error handler renders it.
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** `{"field": ["message", ...]}`; the key `non_field_errors` holds errors about the whole body. */
export type FieldErrors = Record<string, string[]>;
/** RFC 6749 §5.2: the OpenID Connect provider's token, revocation and userinfo endpoints answer this. */
export type OAuthErrorBody = { error: string; error_description: string };
export type ErrorBody = { detail: string; code?: string } | FieldErrors | OAuthErrorBody;

export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly body: ErrorBody;
  readonly headers: Record<string, string>;

  constructor(
    status: ContentfulStatusCode,
    body: ErrorBody,
    headers: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super('detail' in body && typeof body.detail === 'string' ? body.detail : JSON.stringify(body), options);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

/** The challenge DRF sends with a 401; RFC 6750 adds why a presented token was refused. */
const WWW_AUTHENTICATE = 'Bearer realm="api"';
const challenge = (error?: 'invalid_token' | 'invalid_request') =>
  error ? `${WWW_AUTHENTICATE}, error="${error}"` : WWW_AUTHENTICATE;

export const detail = (status: ContentfulStatusCode, message: string, headers?: Record<string, string>) =>
  new ApiError(status, { detail: message }, headers);

export const fieldErrors = (errors: FieldErrors) => new ApiError(400, errors);

export const nonFieldError = (message: string, cause?: unknown) =>
  new ApiError(400, { non_field_errors: [message] }, {}, { cause });

/** 401 for a token that was presented and refused (bad, expired, revoked, or its user gone). */
export const invalidToken = (message: string, cause?: unknown) =>
  new ApiError(401, { detail: message }, { 'WWW-Authenticate': challenge('invalid_token') }, { cause });

/** 401 for an Authorization header that names our scheme but is malformed. */
export const invalidAuthorizationHeader = (message: string) =>
  new ApiError(401, { detail: message }, { 'WWW-Authenticate': challenge('invalid_request') });

/** 401 for a request that needs a token and sent none. */
export const notAuthenticated = () =>
  new ApiError(401, { detail: 'Authentication credentials were not provided.' }, { 'WWW-Authenticate': challenge() });

/** 401 for a valid token whose user no longer exists. */
export const userNotFound = () => invalidToken('User account not found.');

/** 401 for a valid token whose user has been deactivated since. */
export const userDisabled = () => invalidToken('User account is disabled.');

/**
 * 401 from a session route without a usable session cookie. Cookies have no registered
 * authentication scheme; the challenge follows draft-broyer-http-cookie-auth. `clearCookie` is
 * the Set-Cookie that removes the refused cookie, so the browser stops sending it.
 */
export const noSession = (message: string, clearCookie: string) =>
  new ApiError(401, { detail: message }, { 'WWW-Authenticate': 'Cookie realm="api"', 'Set-Cookie': clearCookie });

export const permissionDenied = () => detail(403, 'You do not have permission to perform this action.');

/** 403 for a sensitive change whose token's `auth_time` is older than REAUTH_MAX_AGE. */
export const reauthRequired = () =>
  new ApiError(403, {
    detail: 'This change needs a recent login: log in again or re-authenticate, then retry.',
    code: 'reauth_required',
  });

export const notFound = () => detail(404, 'Not found.');

/** Seconds a client waits before retrying after the database failed or did not answer. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

/** 503 when D1 failed or did not answer in time (src/db/guarded-d1.ts): nothing was changed. */
export const databaseUnavailable = () =>
  detail(503, 'Service temporarily unavailable, try again later.', {
    'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS),
  });

export const methodNotAllowed = (method: string, allowed: readonly string[]) =>
  detail(405, `Method "${method}" not allowed.`, { Allow: allowed.join(', ') });

/** An OAuth error (RFC 6749 §5.2, RFC 6750 §3.1): `invalid_grant`, `invalid_client`, ... */
export const oauthError = (
  status: ContentfulStatusCode,
  error: string,
  description: string,
  headers: Record<string, string> = {},
) => new ApiError(status, { error, error_description: description }, { 'Cache-Control': 'no-store', ...headers });

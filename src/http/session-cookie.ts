/**
 * The refresh cookie of a browser session: its name and attributes, in one place.
 *
 * - `HttpOnly`: the page's scripts (an injected one included) never read it.
 * - `Secure` and the `__Secure-` prefix: never sent or set over plain HTTP; browsers that treat
 *   http://localhost as secure (Chromium, Firefox) accept it there too.
 * - `SameSite=Strict`: never sent with a request another site starts.
 * - `Path=/auth/session/`: sent only to the session routes, not with every API call (a
 *   `__Host-` name would force `Path=/`).
 */
import type { Context } from 'hono';
import { generateCookie, getCookie } from 'hono/cookie';
import { isSecret } from '../auth/random-secrets';

export const SESSION_COOKIE = '__Secure-session';
export const SESSION_COOKIE_PATH = '/auth/session/';
/** Browsers cap a cookie's lifetime at 400 days (RFC 6265bis); the session may end later still. */
const MAX_COOKIE_AGE_SECONDS = 400 * 86400;

/** The cookie's secret, when the request carries a well-formed one. */
export function readSessionCookie(c: Context): string | undefined {
  const value = getCookie(c, SESSION_COOKIE);
  return value !== undefined && isSecret(value) ? value : undefined;
}

const cookie = (value: string, maxAge: number) =>
  generateCookie(SESSION_COOKIE, value, {
    httpOnly: true,
    secure: true,
    sameSite: 'Strict',
    path: SESSION_COOKIE_PATH,
    maxAge,
  });

/** The `Set-Cookie` value of a cookie that lives until the session's absolute end (ms). */
export function sessionCookie(secret: string, expiresAt: number, now: Date): string {
  const remaining = Math.ceil((expiresAt - now.getTime()) / 1000);
  return cookie(secret, Math.max(0, Math.min(remaining, MAX_COOKIE_AGE_SECONDS)));
}

/** The `Set-Cookie` value that removes the cookie. */
export const clearedSessionCookie = (): string => cookie('', 0);

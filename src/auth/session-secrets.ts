/**
 * The secret of a session cookie: 256 random bits, base64url. D1 keeps only its SHA-256, so a
 * copy of the database refreshes nothing. Looking the hash up by equality needs no constant-time
 * comparison: the lookup reveals nothing about any secret a caller does not already hold.
 */
import { base64url } from '../base64url';

const SECRET_BYTES = 32;

/** What a secret looks like; anything else is refused before any hashing or database read. */
const SECRET_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export const newSessionSecret = (): string => base64url(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));

export const isSessionSecret = (value: string): boolean => SECRET_FORMAT.test(value);

export async function hashSessionSecret(secret: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(secret))));
}

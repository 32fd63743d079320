/**
 * Random secrets that D1 keeps only as their SHA-256: a session cookie's, and the OpenID Connect
 * provider's client secrets, authorization codes and refresh tokens. 256 random bits, base64url, so
 * a copy of the database gives none of them. Looking a hash up by equality needs no constant-time
 * comparison: the lookup reveals nothing about any secret a caller does not already hold.
 */
import { base64url } from '../base64url.ts'; // with the extension: Node runs this module too (oauth-client)

const SECRET_BYTES = 32;

/** What a secret looks like; anything else is refused before any hashing or database read. */
const SECRET_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export const newSecret = (): string => base64url(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));

export const isSecret = (value: string): boolean => SECRET_FORMAT.test(value);

export async function hashSecret(secret: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(secret))));
}

/**
 * Password hashing with PBKDF2-HMAC-SHA256, stored in Django's format
 * `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` so a Django user table can be imported.
 *
 * This file imports only @noble/hashes: `npm run createsuperuser` runs it under Node as well.
 */
import { pbkdf2Async } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';

const PASSWORD_ALGORITHM = 'pbkdf2_sha256';

/**
 * Cloudflare's production runtime refuses WebCrypto PBKDF2 above 100,000 iterations (`wrangler
 * dev` does not), so new hashes use exactly that.
 */
export const MAX_PBKDF2_ITERATIONS = 100_000;
export const PBKDF2_ITERATIONS = MAX_PBKDF2_ITERATIONS;

/**
 * Hashes made by Django with more iterations (600,000 in 4.2, 1,000,000 in 5.2, 1,200,000 in 6.0)
 * are checked in JavaScript instead, about 2.3 s of CPU per million iterations (bench/RESULTS.md),
 * and replaced at the first login (passwordNeedsRehash). Above this cap one login would cost
 * several seconds: such a hash is not supported.
 */
export const MAX_IMPORTED_PBKDF2_ITERATIONS = 2_000_000;

const HASH_BYTES = 32;
const SALT_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const SALT_LENGTH = 22; // as Django's get_random_string(22)

/** A stored hash this runtime cannot check (another algorithm, or too many iterations). */
export class UnsupportedPasswordHash extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedPasswordHash';
  }
}

function randomSalt(): string {
  // 62 * 4 = 248 <= 256: rejecting bytes >= 248 keeps every character equally likely.
  const chars: string[] = [];
  while (chars.length < SALT_LENGTH) {
    for (const byte of crypto.getRandomValues(new Uint8Array(SALT_LENGTH * 2))) {
      if (byte < 248 && chars.length < SALT_LENGTH) chars.push(SALT_ALPHABET[byte % 62]!);
    }
  }
  return chars.join('');
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

async function pbkdf2(password: string, salt: string, iterations: number): Promise<Uint8Array> {
  const encoder = new TextEncoder();
  if (iterations > MAX_PBKDF2_ITERATIONS) {
    return pbkdf2Async(sha256, encoder.encode(password), encoder.encode(salt), { c: iterations, dkLen: HASH_BYTES });
  }
  const key = await crypto.subtle.importKey('raw', encoder.encode(password), 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: encoder.encode(salt), iterations },
    key,
    HASH_BYTES * 8,
  );
  return new Uint8Array(bits);
}

export async function hashPassword(password: string, iterations = PBKDF2_ITERATIONS): Promise<string> {
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS) {
    throw new UnsupportedPasswordHash(`PBKDF2 iterations must be 1..${MAX_PBKDF2_ITERATIONS}, got ${iterations}`);
  }
  const salt = randomSalt();
  return `${PASSWORD_ALGORITHM}$${iterations}$${salt}$${toBase64(await pbkdf2(password, salt, iterations))}`;
}

/** Byte comparison whose time depends only on the length, never on where the inputs differ. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

function fromBase64(text: string): Uint8Array | undefined {
  try {
    return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/**
 * True when `password` matches the stored Django-format hash. A hash this runtime cannot check
 * throws UnsupportedPasswordHash; an unusable hash (Django's `!...`) or a malformed one is false.
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts[0] !== PASSWORD_ALGORITHM) {
    if (encoded.startsWith('!')) return verifyAgainstDummy(password); // as long as a real check
    // Name the algorithm only when it looks like one (`argon2`, `bcrypt_sha256`): a stored value
    // without `$` may be an unsalted hash or a plain password, which must not reach a log.
    const algorithm = parts.length > 1 && /^[a-z0-9_]{1,32}$/.test(parts[0]!) ? `"${parts[0]}"` : 'an unknown format';
    throw new UnsupportedPasswordHash(
      `stored password hash uses ${algorithm}, only ${PASSWORD_ALGORITHM} is supported`,
    );
  }
  const [, iterationsText = '', salt = '', hashText = ''] = parts;
  const iterations = Number(iterationsText);
  const expected = fromBase64(hashText);
  if (parts.length !== 4 || !/^\d+$/.test(iterationsText) || iterations < 1 || !expected) return false;
  if (iterations > MAX_IMPORTED_PBKDF2_ITERATIONS) {
    throw new UnsupportedPasswordHash(
      `stored password hash uses ${iterations} PBKDF2 iterations; at most ${MAX_IMPORTED_PBKDF2_ITERATIONS} are supported`,
    );
  }
  return constantTimeEqual(await pbkdf2(password, salt, iterations), expected);
}

/**
 * True for a hash that verifyPassword accepted but that new hashes would not repeat: another
 * iteration count (Django's `must_update`). Replace it while the password is at hand.
 */
export function passwordNeedsRehash(encoded: string): boolean {
  const [algorithm, iterations] = encoded.split('$');
  return algorithm === PASSWORD_ALGORITHM && Number(iterations) !== PBKDF2_ITERATIONS;
}

/** The hash of a random password nobody knows, at the current iteration count. */
const DUMMY_HASH = `${PASSWORD_ALGORITHM}$${PBKDF2_ITERATIONS}$e785813a7f629867fc4e12$BfSDDj0CoWT9NeNJhCGV5afJqsDs2qHhItEGj+9DfAw=`;

/**
 * Spends the same work as checking a real password, so that a login for an unknown username
 * takes as long as one with a wrong password.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  await verifyPassword(password, DUMMY_HASH);
  return false;
}

/**
 * A short digest of a stored hash, for a password reset link: it names the password the link may
 * replace without revealing anything about it. Compare with `fingerprintsMatch`.
 */
export async function passwordFingerprint(encoded: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(encoded)));
  return toBase64(digest.slice(0, 16));
}

export const fingerprintsMatch = (a: string, b: string) => {
  const encoder = new TextEncoder();
  return constantTimeEqual(encoder.encode(a), encoder.encode(b));
};

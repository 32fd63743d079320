/**
 * TOTP (RFC 6238 over RFC 4226's HOTP): HMAC-SHA-1, 6 digits, 30-second steps, with WebCrypto.
 * Knows nothing of HTTP or D1; replay refusal (each step once) is the caller's, through the step
 * this module reports.
 */
const STEP_SECONDS = 30;
const DIGITS = 6;
/** Steps accepted either side of now: one, for a clock or a typist a little behind. */
const SKEW_STEPS = 1;
export const SECRET_BYTES = 20; // 160 bits, RFC 4226's recommendation

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Encode(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(text: string): Uint8Array {
  const clean = text.replace(/=+$/, '').toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const char of clean) {
    const index = BASE32.indexOf(char);
    if (index < 0) throw new Error('not base32');
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

export const newTotpSecret = (): string => base32Encode(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));

export const timeStep = (now: Date): number => Math.floor(now.getTime() / 1000 / STEP_SECONDS);

/** The code of one time step (RFC 4226 §5.3 dynamic truncation). */
export async function totpCode(secret: string, step: number, digits = DIGITS): Promise<string> {
  const key = await crypto.subtle.importKey('raw', base32Decode(secret), { name: 'HMAC', hash: 'SHA-1' }, false, [
    'sign',
  ]);
  const counter = new DataView(new ArrayBuffer(8));
  counter.setBigUint64(0, BigInt(step));
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, counter.buffer));
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = new DataView(mac.buffer).getUint32(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** Equal-length strings compared in constant time. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

export const isTotpCode = (code: string): boolean => new RegExp(`^\\d{${DIGITS}}$`).test(code);

/**
 * The time step `code` belongs to, within one step of now and after `lastStep` (steps already
 * used are never matched); undefined when it matches none.
 */
export async function matchTotp(
  secret: string,
  code: string,
  lastStep: number,
  now: Date,
): Promise<number | undefined> {
  if (!isTotpCode(code)) return undefined;
  const current = timeStep(now);
  let matched: number | undefined;
  // Every candidate is computed and compared, so the time taken says nothing about which matched.
  for (let step = current - SKEW_STEPS; step <= current + SKEW_STEPS; step++) {
    const equal = sameText(await totpCode(secret, step), code);
    if (equal && step > lastStep && matched === undefined) matched = step;
  }
  return matched;
}

/** The `otpauth://` URI authenticator apps read (Google Authenticator's Key Uri Format). */
export function otpauthUri(secret: string, issuer: string, account: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const params = new URLSearchParams({
    secret,
    issuer,
    algorithm: 'SHA1',
    digits: String(DIGITS),
    period: String(STEP_SECONDS),
  });
  return `otpauth://totp/${label}?${params.toString()}`;
}

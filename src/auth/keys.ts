/**
 * The key ring built from JWT_SECRET: how the secret is read, which key signs, which keys verify
 * (by `kid`), and the public keys we publish. With tokens.ts, the only files that import jose.
 */
import { base64url, calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import type { JwtAlgorithm, Settings } from '../config';
import { SettingsError } from '../settings-error';
import { perSettings } from '../per-settings';

/** One key of JWT_SECRET: an HMAC secret, or a JSON Web Key (private, or public to verify only). */
export type KeyMaterial =
  { kind: 'secret'; bytes: Uint8Array } | { kind: 'jwk'; jwk: Readonly<Record<string, unknown>> };

const MIN_SECRET_BYTES = 32;

const JWK_TYPES = new Map<JwtAlgorithm, { kty: string; crv: string }>([
  ['ES256', { kty: 'EC', crv: 'P-256' }],
  ['EdDSA', { kty: 'OKP', crv: 'Ed25519' }],
]);

const keyError = (problem: string) => new SettingsError('JWT_SECRET', problem);

/**
 * JWT_SECRET for HS256: one or more secrets of 32+ bytes, separated by commas. For ES256 and
 * EdDSA: a private JWK, or a JWK Set `{"keys": [...]}` whose first key is private (it signs) and
 * whose other keys, private or public, still verify. Errors never quote the secret.
 */
export function parseKeyMaterial(raw: string, algorithm: JwtAlgorithm): KeyMaterial[] {
  const expected = JWK_TYPES.get(algorithm);
  if (!expected) {
    return raw.split(',').map((secret, index) => {
      const bytes = new TextEncoder().encode(secret.trim());
      if (bytes.length < MIN_SECRET_BYTES) {
        throw keyError(`must be at least ${MIN_SECRET_BYTES} bytes long (secret ${index + 1} is shorter)`);
      }
      return { kind: 'secret', bytes };
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw keyError(`must be a JWK or a JWK Set (JSON) when JWT_ALGORITHM is ${algorithm}`);
  }
  const jwks = typeof parsed === 'object' && parsed !== null && 'keys' in parsed ? parsed.keys : undefined;
  const list: unknown[] = Array.isArray(jwks) ? jwks : [parsed];
  return list.map((jwk, index) => {
    if (
      typeof jwk !== 'object' ||
      jwk === null ||
      !('kty' in jwk) ||
      jwk.kty !== expected.kty ||
      !('crv' in jwk) ||
      jwk.crv !== expected.crv
    ) {
      throw keyError(`key ${index + 1} must be a ${expected.kty} JWK on ${expected.crv} for ${algorithm}`);
    }
    if (index === 0 && !('d' in jwk && typeof jwk.d === 'string')) {
      throw keyError('must start with a private key (a JWK with "d"): it signs the tokens');
    }
    return { kind: 'jwk', jwk: Object.freeze({ ...jwk }) };
  });
}

interface KeyRing {
  algorithm: JwtAlgorithm;
  /** The first key of JWT_SECRET. */
  signing: { kid: string; key: CryptoKey };
  /** Every key of JWT_SECRET, the signing one included, by its `kid`. */
  verifying: ReadonlyMap<string, CryptoKey>;
  /** The public halves, for /.well-known/jwks.json; empty for HS256, whose keys are secret. */
  publicJwks: readonly JWK[];
}

const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y'] as const;

/** A kid that names an HMAC secret without revealing it: a prefix of its SHA-256. */
async function secretKid(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return `hs256-${base64url.encode(digest.slice(0, 12))}`;
}

async function importKey(material: KeyMaterial, algorithm: JwtAlgorithm, position: number) {
  if (material.kind === 'secret') {
    const key = await crypto.subtle.importKey('raw', material.bytes, { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
      'verify',
    ]);
    return { kid: await secretKid(material.bytes), signKey: key, verifyKey: key, publicJwk: undefined };
  }
  const jwk = material.jwk as JWK;
  const publicJwk: JWK = Object.fromEntries(PUBLIC_MEMBERS.filter((m) => jwk[m] !== undefined).map((m) => [m, jwk[m]]));
  try {
    const kid = typeof jwk.kid === 'string' && jwk.kid !== '' ? jwk.kid : await calculateJwkThumbprint(publicJwk);
    const verifyKey = (await importJWK({ ...publicJwk, alg: algorithm }, algorithm)) as CryptoKey;
    const signKey =
      jwk.d === undefined
        ? undefined
        : ((await importJWK({ ...jwk, alg: algorithm, key_ops: undefined, ext: undefined }, algorithm)) as CryptoKey);
    return { kid, signKey, verifyKey, publicJwk: { ...publicJwk, kid, alg: algorithm, use: 'sig' } };
  } catch (error) {
    // The library's message may quote key material: keep it out of the message, as the cause.
    throw new SettingsError('JWT_SECRET', `key ${position} is not a usable ${algorithm} JWK`, { cause: error });
  }
}

async function buildKeyRing(settings: Settings): Promise<KeyRing> {
  const keys = await Promise.all(
    settings.jwtKeys.map((material, i) => importKey(material, settings.jwtAlgorithm, i + 1)),
  );
  const verifying = new Map<string, CryptoKey>();
  for (const { kid, verifyKey } of keys) {
    if (verifying.has(kid)) throw keyError('holds two keys with the same kid');
    verifying.set(kid, verifyKey);
  }
  const [first] = keys;
  return {
    algorithm: settings.jwtAlgorithm,
    signing: { kid: first!.kid, key: first!.signKey! },
    verifying,
    publicJwks: keys.flatMap(({ publicJwk }) => (publicJwk ? [publicJwk] : [])),
  };
}

/** The key ring, imported once per Settings object (so once per isolate), not per request. */
export const keyRing = perSettings(buildKeyRing);

/**
 * The HMAC key that makes pagination cursors tamper-evident: derived from the signing key of
 * JWT_SECRET (so a deployment needs no other secret), never usable as a JWT key itself.
 */
export const cursorKey = perSettings(async (settings: Settings): Promise<CryptoKey> => {
  const [first] = settings.jwtKeys;
  const material = first!.kind === 'secret' ? first!.bytes : new TextEncoder().encode(JSON.stringify(first!.jwk));
  const label = new TextEncoder().encode('pagination-cursor:');
  const derived = await crypto.subtle.digest('SHA-256', new Uint8Array([...label, ...material]));
  return crypto.subtle.importKey('raw', derived, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
});

/**
 * The key ring built from JWT_SECRET (read by key-material.ts): which key signs, which keys verify
 * (by `kid`), and the public keys we publish. With tokens.ts, the only files that import jose.
 */
import { base64url, calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import type { Settings } from '../config';
import { perSettings } from '../per-settings';
import { SettingsError } from '../settings-error';
import { keyError, type JwtAlgorithm, type KeyMaterial } from './key-material';

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

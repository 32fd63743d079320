/**
 * The key rings built from JWT_SECRET and OIDC_SIGNING_KEY (read by key-material.ts): which key
 * signs, which keys verify (by `kid`), and the public keys we publish. With tokens.ts, the only
 * files that import jose.
 */
import { base64url, calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import type { Settings } from '../config';
import { perSettings } from '../per-settings';
import { SettingsError } from '../settings-error';
import { OIDC_ALGORITHM, type JwtAlgorithm, type KeyMaterial } from './key-material';

type Algorithm = JwtAlgorithm | typeof OIDC_ALGORITHM;

interface KeyRing<A extends Algorithm = JwtAlgorithm> {
  algorithm: A;
  /** The first key. */
  signing: { kid: string; key: CryptoKey };
  /** Every key, the signing one included, by its `kid`. */
  verifying: ReadonlyMap<string, CryptoKey>;
  /** The public halves, for /.well-known/jwks.json; none for HS256, whose keys are secret. */
  publicJwks: readonly JWK[];
}

const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const;

/** A kid that names an HMAC secret without revealing it: a prefix of its SHA-256. */
async function secretKid(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return `hs256-${base64url.encode(digest.slice(0, 12))}`;
}

async function importKey(material: KeyMaterial, algorithm: Algorithm, setting: string, position: number) {
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
    throw new SettingsError(setting, `key ${position} is not a usable ${algorithm} JWK`, { cause: error });
  }
}

async function buildKeyRing<A extends Algorithm>(
  materials: readonly KeyMaterial[],
  algorithm: A,
  setting: string,
): Promise<KeyRing<A>> {
  const keys = await Promise.all(materials.map((material, i) => importKey(material, algorithm, setting, i + 1)));
  const verifying = new Map<string, CryptoKey>();
  for (const { kid, verifyKey } of keys) {
    if (verifying.has(kid)) throw new SettingsError(setting, 'holds two keys with the same kid');
    verifying.set(kid, verifyKey);
  }
  const [first] = keys;
  return {
    algorithm,
    signing: { kid: first!.kid, key: first!.signKey! },
    verifying,
    publicJwks: keys.flatMap(({ publicJwk }) => (publicJwk ? [publicJwk] : [])),
  };
}

/** JWT_SECRET's key ring, imported once per Settings object (so once per isolate), not per request. */
export const keyRing = perSettings((settings: Settings) =>
  buildKeyRing(settings.jwtKeys, settings.jwtAlgorithm, 'JWT_SECRET'),
);

/** OIDC_SIGNING_KEY's: RS256, for the ID tokens and access tokens of the OpenID Connect provider. */
export const oidcKeyRing = perSettings((settings: Settings) =>
  buildKeyRing(settings.oidcKeys, OIDC_ALGORITHM, 'OIDC_SIGNING_KEY'),
);

/** What /.well-known/jwks.json publishes: the public keys of both rings. */
export async function publishedJwks(settings: Settings): Promise<readonly JWK[]> {
  const [tokens, oidc] = await Promise.all([keyRing(settings), oidcKeyRing(settings)]);
  return [...tokens.publicJwks, ...oidc.publicJwks];
}

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

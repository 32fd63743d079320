/**
 * JWT_SECRET read as key material for JWT_ALGORITHM, before any key is imported: what config.ts
 * checks while parsing the settings (keys.ts then builds the key ring from it).
 */
import { SettingsError } from '../settings-error';

/** Signing algorithms: HS256 with shared secrets, or ES256 / EdDSA with private JWKs. */
export const JWT_ALGORITHMS = ['HS256', 'ES256', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** One key of JWT_SECRET: an HMAC secret, or a JSON Web Key (private, or public to verify only). */
export type KeyMaterial =
  { kind: 'secret'; bytes: Uint8Array } | { kind: 'jwk'; jwk: Readonly<Record<string, unknown>> };

const MIN_SECRET_BYTES = 32;

const JWK_TYPES = new Map<JwtAlgorithm, { kty: string; crv: string }>([
  ['ES256', { kty: 'EC', crv: 'P-256' }],
  ['EdDSA', { kty: 'OKP', crv: 'Ed25519' }],
]);

/** A problem of JWT_SECRET, named but never quoted. */
export const keyError = (problem: string) => new SettingsError('JWT_SECRET', problem);

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

/**
 * JWT_SECRET read as key material for JWT_ALGORITHM, and OIDC_SIGNING_KEY as RSA keys for RS256,
 * before any key is imported: what config.ts checks while parsing the settings (keys.ts then
 * builds the key ring from it).
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
const keyError = (problem: string) => new SettingsError('JWT_SECRET', problem);

/** The OpenID Connect provider signs ID tokens and its access tokens with RS256 (the Basic OP profile). */
export const OIDC_ALGORITHM = 'RS256';
const MIN_RSA_BITS = 2048;
const oidcKeyError = (problem: string) => new SettingsError('OIDC_SIGNING_KEY', problem);

/** The JWKs of a JWK or a JWK Set `{"keys": [...]}`; null when the text is neither. */
function jwkList(raw: string): unknown[] | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  const jwks = typeof parsed === 'object' && parsed !== null && 'keys' in parsed ? parsed.keys : undefined;
  return Array.isArray(jwks) ? jwks : [parsed];
}

const hasPrivatePart = (jwk: object) => 'd' in jwk && typeof jwk.d === 'string';

/**
 * OIDC_SIGNING_KEY: a private RSA JWK of 2048 bits or more, or a JWK Set whose first key is
 * private (it signs) and whose other keys still verify and are published: rotation as with
 * JWT_SECRET. Errors never quote the key.
 */
export function parseOidcKeyMaterial(raw: string): KeyMaterial[] {
  const list = jwkList(raw);
  if (list === null) throw oidcKeyError('must be an RSA JWK or a JWK Set (JSON): `npm run generate-key -- RS256`');
  return list.map((jwk, index) => {
    if (typeof jwk !== 'object' || jwk === null || !('kty' in jwk) || jwk.kty !== 'RSA') {
      throw oidcKeyError(`key ${index + 1} must be an RSA JWK`);
    }
    const modulus = 'n' in jwk && typeof jwk.n === 'string' ? jwk.n : '';
    if (Math.floor((modulus.replace(/=+$/, '').length * 6) / 8) * 8 < MIN_RSA_BITS) {
      throw oidcKeyError(`key ${index + 1} must have a modulus of at least ${MIN_RSA_BITS} bits`);
    }
    if (index === 0 && !hasPrivatePart(jwk)) {
      throw oidcKeyError('must start with a private key (a JWK with "d"): it signs the ID tokens');
    }
    return { kind: 'jwk', jwk: Object.freeze({ ...jwk }) };
  });
}

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
  const list = jwkList(raw);
  if (list === null) throw keyError(`must be a JWK or a JWK Set (JSON) when JWT_ALGORITHM is ${algorithm}`);
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
    if (index === 0 && !hasPrivatePart(jwk)) {
      throw keyError('must start with a private key (a JWK with "d"): it signs the tokens');
    }
    return { kind: 'jwk', jwk: Object.freeze({ ...jwk }) };
  });
}

/** A new private RSA JWK (2048 bits, RS256) with a kid: what OIDC_SIGNING_KEY holds. */
import { createHash, generateKeyPairSync } from 'node:crypto';

export function newOidcSigningKey(): string {
  const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  // RFC 7638's thumbprint of the public members, shortened: a kid that names the key and no other.
  const thumbprint = createHash('sha256')
    .update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n }))
    .digest('base64url');
  const kid = `${new Date().toISOString().slice(0, 10)}-${thumbprint.slice(0, 8)}`;
  return JSON.stringify({ ...jwk, kid, alg: 'RS256' });
}

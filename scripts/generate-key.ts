/**
 * `npm run generate-key -- ES256` (or EdDSA): prints a new private JWK with a kid, ready for
 * JWT_SECRET with JWT_ALGORITHM set to the same algorithm. `npm run generate-key -- RS256` prints
 * one for OIDC_SIGNING_KEY. See SECURITY.md for rotation.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { newOidcSigningKey } from './oidc-key.ts';

const algorithm = process.argv[2] ?? 'ES256';
if (algorithm === 'RS256') {
  console.log(newOidcSigningKey());
} else if (algorithm === 'ES256' || algorithm === 'EdDSA') {
  const { privateKey } = await generateKeyPair(algorithm, {
    extractable: true,
    ...(algorithm === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  const jwk = await exportJWK(privateKey);
  const kid = `${new Date().toISOString().slice(0, 10)}-${(await calculateJwkThumbprint(jwk)).slice(0, 8)}`;
  console.log(JSON.stringify({ ...jwk, kid, alg: algorithm }));
} else {
  console.error('Usage: npm run generate-key -- ES256|EdDSA|RS256');
  process.exit(1);
}

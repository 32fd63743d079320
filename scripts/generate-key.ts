/**
 * `npm run generate-key -- ES256` (or EdDSA): prints a new private JWK with a kid, ready for
 * JWT_SECRET with JWT_ALGORITHM set to the same algorithm. See SECURITY.md for rotation.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';

const algorithm = process.argv[2] ?? 'ES256';
if (algorithm !== 'ES256' && algorithm !== 'EdDSA') {
  console.error('Usage: npm run generate-key -- ES256|EdDSA');
  process.exit(1);
}
const { privateKey } = await generateKeyPair(algorithm, {
  extractable: true,
  ...(algorithm === 'EdDSA' ? { crv: 'Ed25519' } : {}),
});
const jwk = await exportJWK(privateKey);
const kid = `${new Date().toISOString().slice(0, 10)}-${(await calculateJwkThumbprint(jwk)).slice(0, 8)}`;
console.log(JSON.stringify({ ...jwk, kid, alg: algorithm }));

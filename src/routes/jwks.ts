import { Hono } from 'hono';
import { keyRing } from '../auth/keys';
import type { AppEnv } from '../env';
import type { Operation } from '../openapi/document';

export const jwksRoutes = new Hono<AppEnv>();

/**
 * The public keys that verify our tokens, for other services: empty with HS256, whose keys are
 * secret. Short caching lets a rotation reach verifiers within minutes.
 */
jwksRoutes.get('/.well-known/jwks.json', async (c) => {
  const { publicJwks } = await keyRing(c.var.settings);
  return c.json({ keys: publicJwks }, 200, { 'Cache-Control': 'public, max-age=300' });
});

export const jwksOperations: Operation[] = [
  {
    method: 'get',
    path: '/.well-known/jwks.json',
    tag: 'auth',
    summary: 'The public keys that verify access tokens (ES256 or EdDSA)',
    responses: { 200: 'Jwks' },
  },
];

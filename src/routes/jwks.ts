import { keyRing } from '../auth/keys';
import { defineRoute } from '../http/route';

export const jwksRoutes = [
  defineRoute({
    method: 'get',
    path: '/.well-known/jwks.json',
    tag: 'auth',
    summary: 'The public keys that verify access tokens (ES256 or EdDSA)',
    description:
      'Empty with HS256, whose keys are secret. Short caching lets a rotation reach verifiers within minutes.',
    auth: 'none',
    responses: { 200: 'Jwks' },
    handler: async (c) => {
      const { publicJwks } = await keyRing(c.var.settings);
      return c.json({ keys: publicJwks }, 200, { 'Cache-Control': 'public, max-age=300' });
    },
  }),
];

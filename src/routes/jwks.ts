import { publishedJwks } from '../auth/keys';
import { defineRoute } from '../http/route';

export const jwksRoutes = [
  defineRoute({
    method: 'get',
    path: '/.well-known/jwks.json',
    tag: 'auth',
    summary: 'The public keys: of access tokens (ES256 or EdDSA) and of the OpenID Connect provider (RS256)',
    description:
      'HS256 keys are secret and never listed; the RS256 keys of OIDC_SIGNING_KEY always are. Short caching lets a rotation reach verifiers within minutes.',
    auth: 'none',
    responses: { 200: 'Jwks' },
    handler: async (c) => {
      return c.json({ keys: await publishedJwks(c.get('settings')) }, 200, { 'Cache-Control': 'public, max-age=300' });
    },
  }),
];

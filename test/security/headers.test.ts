/** Malformed and oversized Authorization headers: 401 or anonymous, never a 2xx for a write, never a 5xx. */
import { describe, expect, it } from 'vitest';
import { accessTokenFor, call, createUser } from '../helpers';

const me = (authorization: string) => call('/users/me/', { headers: { Authorization: authorization } });

describe('Authorization header', () => {
  const MALFORMED = 'Bearer realm="api", error="invalid_request"';
  const INVALID_TOKEN = 'Bearer realm="api", error="invalid_token"';
  const NO_TOKEN = 'Bearer realm="api"';

  it.each([
    ['a prefix alone', 'Bearer', MALFORMED],
    ['a prefix and blanks', 'JWT    ', MALFORMED],
    ['two credentials', 'Bearer a.b.c d.e.f', MALFORMED],
    ['a token with a comma', 'Bearer a.b.c,d', INVALID_TOKEN],
    ['a bare token', 'eyJhbGciOiJIUzI1NiJ9.e30.x', NO_TOKEN],
    ['another scheme', 'Basic YWRtaW46YWRtaW4=', NO_TOKEN],
    ['a prefix glued to the token', 'Bearereyj.abc.def', NO_TOKEN],
    ['non-ASCII text', 'Bearer tökén', INVALID_TOKEN],
    ['8 KiB of token', `Bearer ${'a'.repeat(8 * 1024)}`, INVALID_TOKEN],
    ['60 KiB of token', `Bearer ${'A'.repeat(60 * 1024)}`, INVALID_TOKEN],
    ['many segments', `Bearer ${Array.from({ length: 2000 }, () => 'a').join('.')}`, INVALID_TOKEN],
    ['JSON instead of a JWT', 'Bearer {"alg":"none"}', INVALID_TOKEN],
  ])('refuses %s on a route that needs a user (401, RFC 6750 challenge)', async (_, header, challenge) => {
    const response = await me(header);
    expect(response.status).toBe(401);
    expect(response.headers.get('WWW-Authenticate')).toBe(challenge);
    expect(Object.keys((await response.json()) as object)).toEqual(['detail']);
  });

  it('accepts the real token after any of these, so the refusals are about the header', async () => {
    const user = await createUser();
    expect((await me(`Bearer ${await accessTokenFor(user)}`)).status).toBe(200);
  });

  it('never lets a malformed header write', async () => {
    for (const header of ['Bearer', 'Bearer x y', `Bearer ${'a'.repeat(20000)}`, 'Basic YWRtaW46YWRtaW4=']) {
      const response = await call('/tasks/', {
        method: 'POST',
        headers: { Authorization: header, 'Content-Type': 'application/json' },
        body: JSON.stringify({ title: 'x', due_to: '2030-01-01T00:00:00Z' }),
      });
      expect(response.status).toBe(401);
    }
  });
});

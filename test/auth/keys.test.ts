import { env as workerEnv } from 'cloudflare:workers';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { describe, expect, it, vi } from 'vitest';
import { keyRing, oidcKeyRing } from '../../src/auth/keys';
import { issueAccessToken, TokenError, verifyAccessToken } from '../../src/auth/tokens';
import { parseSettings } from '../../src/config';
import { SettingsError } from '../../src/settings-error';
import { callWithEnv, decodeJwt } from '../helpers';

const user = { id: 3, username: 'carol', isStaff: false, tokenVersion: 0 };
const OLD = 'old-secret-that-is-at-least-32-bytes-long';
const NEW = 'new-secret-that-is-at-least-32-bytes-long';
const settingsWith = (env: Record<string, string>) =>
  parseSettings({ SITE_URL: 'http://localhost:8787', OIDC_SIGNING_KEY: workerEnv.OIDC_SIGNING_KEY, ...env });

async function privateJwk(alg: 'ES256' | 'EdDSA', kid?: string) {
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  return { ...(await exportJWK(privateKey)), ...(kid ? { kid } : {}) };
}

describe('HS256 key rotation', () => {
  it('signs with the first secret and verifies with all of them, each named by its kid', async () => {
    const before = settingsWith({ JWT_SECRET: OLD });
    const during = settingsWith({ JWT_SECRET: `${NEW},${OLD}` });
    const after = settingsWith({ JWT_SECRET: NEW });

    const oldToken = await issueAccessToken(user, before);
    const newToken = await issueAccessToken(user, during);
    expect(decodeJwt(oldToken).header.kid).toBe((await keyRing(before)).signing.kid);
    expect(decodeJwt(newToken).header.kid).toBe((await keyRing(after)).signing.kid);
    expect(decodeJwt(newToken).header.kid).not.toBe(decodeJwt(oldToken).header.kid);

    await expect(verifyAccessToken(oldToken, during)).resolves.toMatchObject({ userId: 3 });
    await expect(verifyAccessToken(newToken, after)).resolves.toMatchObject({ userId: 3 });
    await expect(verifyAccessToken(oldToken, after)).rejects.toBeInstanceOf(TokenError);
  });

  it('publishes no HMAC key: its secrets stay secret (only the RS256 keys of the OIDC provider are listed)', async () => {
    const response = await callWithEnv({}, '/.well-known/jwks.json');
    expect(response.status).toBe(200);
    const { keys } = (await response.json()) as { keys: Record<string, string>[] };
    expect(keys.map((key) => key.alg)).toEqual(['RS256']);
  });

  it('does not reveal the secret in the kid', async () => {
    const { kid } = (await keyRing(settingsWith({ JWT_SECRET: NEW }))).signing;
    expect(kid).toMatch(/^hs256-[\w-]{16}$/);
    expect(NEW).not.toContain(kid.slice(6));
  });
});

describe.each(['ES256', 'EdDSA'] as const)('%s signing', (alg) => {
  it('signs with the private JWK and publishes the public key at /.well-known/jwks.json', async () => {
    const jwk = await privateJwk(alg, 'key-2026');
    const env = { JWT_ALGORITHM: alg, JWT_SECRET: JSON.stringify(jwk) };
    const token = await issueAccessToken(user, settingsWith(env));
    expect(decodeJwt(token).header).toMatchObject({ alg, kid: 'key-2026', typ: 'at+jwt' });

    const response = await callWithEnv(env, '/.well-known/jwks.json');
    expect(response.headers.get('Cache-Control')).toBe('public, max-age=300');
    const jwks = (await response.json()) as { keys: Record<string, string>[] };
    expect(jwks.keys.map((key) => key.alg)).toEqual([alg, 'RS256']);
    expect(jwks.keys[0]).toMatchObject({ kid: 'key-2026', alg, use: 'sig', kty: jwk.kty, x: jwk.x });
    expect(jwks.keys[0]).not.toHaveProperty('d');

    // Another service verifies with nothing but the published set.
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks as never), { algorithms: [alg] });
    expect(payload.user_id).toBe(3);
  });

  it('rotates: a JWK Set signs with its first key and still verifies tokens of the others', async () => {
    const oldKey = await privateJwk(alg);
    const newKey = await privateJwk(alg);
    const oldToken = await issueAccessToken(
      user,
      settingsWith({ JWT_ALGORITHM: alg, JWT_SECRET: JSON.stringify(oldKey) }),
    );
    const { x, y, kty, crv } = oldKey;
    const rotated = settingsWith({
      JWT_ALGORITHM: alg,
      JWT_SECRET: JSON.stringify({ keys: [newKey, { kty, crv, x, y }] }),
    });
    await expect(verifyAccessToken(oldToken, rotated)).resolves.toMatchObject({ userId: 3 });
    const newToken = await issueAccessToken(user, rotated);
    expect(decodeJwt(newToken).header.kid).not.toBe(decodeJwt(oldToken).header.kid);
    expect((await keyRing(rotated)).publicJwks).toHaveLength(2);
  });
});

describe('JWT_SECRET for asymmetric algorithms', () => {
  it.each([
    [{ JWT_ALGORITHM: 'ES256', JWT_SECRET: NEW }, /must be a JWK or a JWK Set/],
    [{ JWT_ALGORITHM: 'RS256', JWT_SECRET: NEW }, /^JWT_ALGORITHM must be one of HS256, ES256, EdDSA/],
  ])('refuses %j, naming the setting', (env, message) => {
    expect(() => settingsWith(env)).toThrow(message);
  });

  it('refuses a key of the wrong type and a set that starts with a public key', async () => {
    const ed = await privateJwk('EdDSA');
    expect(() => settingsWith({ JWT_ALGORITHM: 'ES256', JWT_SECRET: JSON.stringify(ed) })).toThrow(
      /must be a EC JWK on P-256/,
    );
    const { d: _, ...publicOnly } = await privateJwk('ES256');
    expect(() => settingsWith({ JWT_ALGORITHM: 'ES256', JWT_SECRET: JSON.stringify(publicOnly) })).toThrow(
      SettingsError,
    );
  });

  it('answers 500 naming JWT_SECRET when a JWK cannot be imported, and logs it', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const jwk = { ...(await privateJwk('ES256')), x: 'not-a-point' };
    const response = await callWithEnv(
      { JWT_ALGORITHM: 'ES256', JWT_SECRET: JSON.stringify(jwk) },
      '/.well-known/jwks.json',
    );
    expect(response.status).toBe(500);
    expect(((await response.json()) as { detail: string }).detail).toMatch(
      /^Server misconfigured: JWT_SECRET key 1 is not a usable ES256 JWK$/,
    );
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('JWT_SECRET key 1 is not a usable ES256 JWK'));
    logged.mockRestore();
  });
});

describe('OIDC_SIGNING_KEY: the OpenID Connect provider RS256 keys', () => {
  async function rsaJwk(kid?: string) {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    return { ...(await exportJWK(privateKey)), ...(kid ? { kid } : {}) };
  }
  const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'];

  it('publishes the public half with its kid, RS256 and use sig, and nothing private', async () => {
    const key = await rsaJwk('oidc-2026');
    const response = await callWithEnv({ OIDC_SIGNING_KEY: JSON.stringify(key) }, '/.well-known/jwks.json');
    const { keys } = (await response.json()) as { keys: Record<string, string>[] };
    expect(keys).toEqual([{ kty: 'RSA', n: key.n, e: key.e, kid: 'oidc-2026', alg: 'RS256', use: 'sig' }]);
    for (const member of PRIVATE_MEMBERS) expect(keys[0]).not.toHaveProperty(member);
    const ring = await oidcKeyRing(settingsWith({ JWT_SECRET: OLD, OIDC_SIGNING_KEY: JSON.stringify(key) }));
    expect(ring).toMatchObject({ algorithm: 'RS256', signing: { kid: 'oidc-2026' } });
  });

  it('rotates as JWT_SECRET does: a JWK Set signs with its first key and publishes them all', async () => {
    const newKey = await rsaJwk('new');
    const { d: _, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...oldPublic } = await rsaJwk('old');
    const settings = settingsWith({ JWT_SECRET: OLD, OIDC_SIGNING_KEY: JSON.stringify({ keys: [newKey, oldPublic] }) });
    const ring = await oidcKeyRing(settings);
    expect(ring.signing.kid).toBe('new');
    expect([...ring.verifying.keys()]).toEqual(['new', 'old']);
    expect(ring.publicJwks.map((key) => key.kid)).toEqual(['new', 'old']);
  });

  it.each([
    ['', /OIDC_SIGNING_KEY is not set/],
    ['not json', /OIDC_SIGNING_KEY must be an RSA JWK or a JWK Set/],
  ])('refuses %j, naming the setting', (raw, message) => {
    expect(() => settingsWith({ JWT_SECRET: OLD, OIDC_SIGNING_KEY: raw })).toThrow(message);
  });

  it('refuses another kind of key, a key under 2048 bits and a set that starts with a public key, never quoting it', async () => {
    const cases: [object, RegExp][] = [
      [await privateJwk('ES256'), /key 1 must be an RSA JWK/],
      // A 1024-bit modulus is 171 characters of base64url.
      [
        { ...(await rsaJwk()), n: (await rsaJwk()).n!.slice(0, 171) },
        /key 1 must have a modulus of at least 2048 bits/,
      ],
      [{ keys: [{ kty: 'RSA', n: (await rsaJwk()).n, e: 'AQAB' }] }, /must start with a private key/],
    ];
    for (const [key, message] of cases) {
      const error = (() => {
        try {
          settingsWith({ JWT_SECRET: OLD, OIDC_SIGNING_KEY: JSON.stringify(key) });
        } catch (e) {
          return e as SettingsError;
        }
      })();
      expect(error).toBeInstanceOf(SettingsError);
      expect(error!.setting).toBe('OIDC_SIGNING_KEY');
      expect(error!.message).toMatch(message);
      expect(error!.message).not.toContain(JSON.stringify(key).slice(20, 40));
    }
  });

  it('answers 500 naming OIDC_SIGNING_KEY when the key cannot be imported', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const key = { ...(await rsaJwk()), d: 'not-a-key' };
    const response = await callWithEnv({ OIDC_SIGNING_KEY: JSON.stringify(key) }, '/.well-known/jwks.json');
    expect(response.status).toBe(500);
    expect(((await response.json()) as { detail: string }).detail).toBe(
      'Server misconfigured: OIDC_SIGNING_KEY key 1 is not a usable RS256 JWK',
    );
    logged.mockRestore();
  });
});

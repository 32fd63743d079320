/**
 * Forged, tampered and misused tokens. None of them may ever be answered with a 2xx or a 5xx:
 * each is refused on every path that takes a token (see forge.ts).
 */
import { env } from 'cloudflare:workers';
import { base64url, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { keyRing } from '../../src/auth/keys';
import { accessTokenFor, activationTokenFor, callWithEnv, createUser, postJson, send, settings } from '../helpers';
import {
  accessClaims,
  expectRefusedEverywhere,
  hmacSigned,
  now,
  signedWithServiceKey,
  tokenPaths,
  unsigned,
} from './forge';

describe('the control: a genuine access token', () => {
  it('is accepted where access tokens go (so the refusals below are about the forgery)', async () => {
    const user = await createUser();
    const token = await signedWithServiceKey({}, accessClaims(user.id, { username: user.username, is_staff: false }));
    expect((await send('GET', '/users/me/', { token })).status).toBe(200);
    expect((await postJson('/auth/refresh_token/', { token })).status).toBe(200);
  });
});

describe('alg "none"', () => {
  it.each(['none', 'None', 'NONE', 'nOnE'])('is refused when spelled %j, with or without a signature', async (alg) => {
    const user = await createUser();
    const header = { alg, typ: 'at+jwt', kid: 'any' };
    await expectRefusedEverywhere(unsigned(header, accessClaims(user.id)));
    await expectRefusedEverywhere(unsigned(header, accessClaims(user.id), 'c2lnbmF0dXJl'));
  });
});

describe('algorithm confusion', () => {
  it('refuses HS256 tokens signed with the ES256 public key the service publishes', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const overrides = {
      JWT_ALGORITHM: 'ES256',
      JWT_SECRET: JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'published' }),
    };
    const jwks = (await (await callWithEnv(overrides, '/.well-known/jwks.json')).json()) as {
      keys: Record<string, string>[];
    };
    const publicJwk = jwks.keys[0]!;
    const user = await createUser();
    const header = { alg: 'HS256', typ: 'at+jwt', kid: publicJwk.kid };
    for (const secret of [JSON.stringify(publicJwk), publicJwk.x!, `${publicJwk.x}${publicJwk.y}`]) {
      await expectRefusedEverywhere(await hmacSigned(header, accessClaims(user.id), secret), overrides);
    }
  });

  it('refuses a token signed with another HMAC algorithm and the real secret', async () => {
    const user = await createUser();
    const { kid } = (await keyRing(settings())).signing;
    const hs512 = await new SignJWT(accessClaims(user.id))
      .setProtectedHeader({ alg: 'HS512', typ: 'at+jwt', kid })
      .sign(new TextEncoder().encode(String(env.JWT_SECRET)));
    await expectRefusedEverywhere(hs512);
  });
});

describe('tampering', () => {
  it('refuses a changed payload, a changed signature and malformed compact forms', async () => {
    const victim = await createUser();
    const attacker = await createUser();
    const token = await accessTokenFor(attacker);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
    const swapped = unsigned(
      JSON.parse(atob(header.replace(/-/g, '+').replace(/_/g, '/'))),
      { ...claims, user_id: victim.id, sub: String(victim.id) },
      signature,
    );
    const flipped = `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    for (const forged of [
      swapped,
      flipped,
      `${header}.${payload}.`,
      `${header}.${payload}`,
      `${token}.extra`,
      `${header}..${signature}`,
      'a.b.c',
      '...',
    ]) {
      await expectRefusedEverywhere(forged);
    }
  });
});

describe('kid', () => {
  it.each([
    ['an unknown kid', 'unknown-key'],
    ['a path', '../../../../dev/null'],
    ['SQL', "' OR '1'='1"],
    ['a 5,000-character kid', 'x'.repeat(5000)],
    ['a number', 42],
    ['an object', { nested: true }],
    ['null', null],
  ])('refuses %s as kid, even with the real signature', async (_, kid) => {
    const user = await createUser();
    const token = await signedWithServiceKey({ kid }, accessClaims(user.id));
    await expectRefusedEverywhere(token);
  });

  it('refuses a token without a kid', async () => {
    const user = await createUser();
    const secret = String(env.JWT_SECRET);
    await expectRefusedEverywhere(await hmacSigned({ alg: 'HS256', typ: 'at+jwt' }, accessClaims(user.id), secret));
  });
});

describe('keys embedded in the header are never trusted', () => {
  it.each(['jwk', 'jku', 'x5u', 'x5c'])(
    'refuses a token signed by the attacker that points at their key with %s',
    async (member) => {
      const user = await createUser();
      const attackerSecret = crypto.getRandomValues(new Uint8Array(32));
      const values: Record<string, unknown> = {
        jwk: { kty: 'oct', k: base64url.encode(attackerSecret) },
        jku: 'https://attacker.example/jwks.json',
        x5u: 'https://attacker.example/cert.pem',
        x5c: ['MIIBattacker'],
      };
      const header = { alg: 'HS256', typ: 'at+jwt', kid: 'attacker', [member]: values[member] };
      await expectRefusedEverywhere(await hmacSigned(header, accessClaims(user.id), attackerSecret));
    },
  );

  it('refuses an ES256 token carrying its own public key when the service signs ES256', async () => {
    const service = await generateKeyPair('ES256', { extractable: true });
    const overrides = {
      JWT_ALGORITHM: 'ES256',
      JWT_SECRET: JSON.stringify({ ...(await exportJWK(service.privateKey)), kid: 'service' }),
    };
    const attacker = await generateKeyPair('ES256', { extractable: true });
    const user = await createUser();
    for (const kid of ['service', 'attacker']) {
      const token = await new SignJWT(accessClaims(user.id))
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid, jwk: await exportJWK(attacker.publicKey) })
        .sign(attacker.privateKey);
      await expectRefusedEverywhere(token, overrides);
    }
  });
});

describe('crit', () => {
  it('refuses a token with a critical header the service does not understand', async () => {
    const user = await createUser();
    const token = await signedWithServiceKey(
      { crit: ['urn:example:must-understand'], 'urn:example:must-understand': true },
      accessClaims(user.id),
    );
    await expectRefusedEverywhere(token);
  });
});

describe('dates', () => {
  it.each([
    ['an expired token', { iat: now() - 600, orig_iat: now() - 600, exp: now() - 300 }],
    ['a future nbf', { nbf: now() + 3600 }],
    ['a future iat', { iat: now() + 3600, orig_iat: now() + 3600, exp: now() + 3900 }],
    ['an exp as text', { exp: 'tomorrow' }],
    ['an iat as text', { iat: 'yesterday' }],
    ['an nbf as text', { nbf: 'now' }],
    ['no exp', { exp: undefined }],
    ['an exp far in the future', { exp: now() + 10 * 365 * 86400 }],
    ['an orig_iat as text', { orig_iat: 'long ago' }],
  ])('refuses %s, even with the real signature', async (_, changes) => {
    const user = await createUser();
    await expectRefusedEverywhere(await signedWithServiceKey({}, accessClaims(user.id, changes)));
  });
});

describe('token kinds never cross', () => {
  it('an activation token is refused wherever an access token goes', async () => {
    const user = await createUser();
    const activation = await activationTokenFor(user.id, crypto.randomUUID());
    for (const [name, sendToken, status] of tokenPaths().slice(0, 4)) {
      const response = await sendToken(activation);
      expect(response.status, name).toBe(status);
    }
  });

  it('an access token is refused wherever an activation token goes, and activates no one', async () => {
    const user = await createUser({ isActive: false });
    const access = await accessTokenFor(user);
    for (const [name, sendToken, status] of tokenPaths().slice(4)) {
      expect((await sendToken(access)).status, name).toBe(status);
    }
    expect((await postJson('/api-auth/', { username: user.username, password: user.password })).status).toBe(400);
  });

  it.each([['JWT'], ['jwt'], [undefined], ['activation+jwt']])(
    'a token of typ %j is not an access token',
    async (typ) => {
      const user = await createUser();
      const token = await signedWithServiceKey({ typ }, accessClaims(user.id));
      for (const [name, sendToken, status] of tokenPaths().slice(0, 4)) {
        expect((await sendToken(token)).status, name).toBe(status);
      }
    },
  );
});

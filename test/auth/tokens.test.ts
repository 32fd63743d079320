import { env as workerEnv } from 'cloudflare:workers';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  issueAccessToken,
  issueActivationToken,
  refreshHasExpired,
  TokenError,
  verifyAccessToken,
  verifyActivationToken,
} from '../../src/auth/tokens';
import { keyRing } from '../../src/auth/keys';
import { parseSettings } from '../../src/config';

const SECRET = 'x'.repeat(32) + '-token-tests';
const settingsWith = (overrides: Record<string, string> = {}) =>
  parseSettings({
    JWT_SECRET: SECRET,
    OIDC_SIGNING_KEY: workerEnv.OIDC_SIGNING_KEY,
    SITE_URL: 'http://localhost:8787',
    ...overrides,
  });
const user = { id: 7, username: 'alice', isStaff: false, tokenVersion: 0 };
const T0 = new Date('2026-05-01T12:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

/** An access-shaped token signed with the service's own secret and kid, outside the service's code. */
const signWithSecret = async (claims: Record<string, unknown>, alg: string) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg, typ: 'at+jwt', kid: (await keyRing(settingsWith())).signing.kid })
    .setSubject('7')
    .setIssuedAt(T0)
    .setExpirationTime(at(300))
    .setJti('j')
    .sign(new TextEncoder().encode(SECRET));

async function expectTokenError(promise: Promise<unknown>, code: 'expired' | 'invalid') {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenError);
  expect((error as TokenError).code).toBe(code);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('access tokens', () => {
  it('carry the claims of the contract', async () => {
    const settings = settingsWith({ JWT_ISSUER: 'https://issuer.test', JWT_AUDIENCE: 'spa' });
    const claims = await verifyAccessToken(await issueAccessToken(user, settings, { now: T0 }), settings, at(1));
    expect(claims).toMatchObject({
      userId: 7,
      username: 'alice',
      isStaff: false,
      origIat: T0.getTime() / 1000,
      exp: T0.getTime() / 1000 + 300,
    });
  });

  it('expire after JWT_EXPIRATION_DELTA, give or take JWT_LEEWAY', async () => {
    const settings = settingsWith();
    const token = await issueAccessToken(user, settings, { now: T0 });
    await expect(verifyAccessToken(token, settings, at(299))).resolves.toBeTruthy();
    await expectTokenError(verifyAccessToken(token, settings, at(300)), 'expired');
    const lenient = settingsWith({ JWT_LEEWAY: '30' });
    await expect(
      verifyAccessToken(await issueAccessToken(user, lenient, { now: T0 }), lenient, at(320)),
    ).resolves.toBeTruthy();
  });

  it('are refused when issued in the future', async () => {
    const settings = settingsWith();
    await expectTokenError(
      verifyAccessToken(await issueAccessToken(user, settings, { now: at(120) }), settings, T0),
      'invalid',
    );
  });

  it('are refused with another secret, issuer or audience', async () => {
    const settings = settingsWith({ JWT_ISSUER: 'https://issuer.test', JWT_AUDIENCE: 'spa' });
    const token = await issueAccessToken(user, settings, { now: T0 });
    await expectTokenError(
      verifyAccessToken(
        token,
        settingsWith({ JWT_SECRET: 'y'.repeat(40), JWT_ISSUER: 'https://issuer.test', JWT_AUDIENCE: 'spa' }),
        T0,
      ),
      'invalid',
    );
    await expectTokenError(
      verifyAccessToken(token, settingsWith({ JWT_ISSUER: 'https://other.test', JWT_AUDIENCE: 'spa' }), T0),
      'invalid',
    );
    await expectTokenError(
      verifyAccessToken(token, settingsWith({ JWT_ISSUER: 'https://issuer.test', JWT_AUDIENCE: 'other' }), T0),
      'invalid',
    );
    const plain = await issueAccessToken(user, settingsWith(), { now: T0 });
    await expectTokenError(verifyAccessToken(plain, settings, T0), 'invalid');
  });

  it('are verified with HS256 only: alg none and HS512 with the same secret are refused', async () => {
    const settings = settingsWith();
    const claims = { user_id: 7, username: 'alice', is_staff: false, orig_iat: T0.getTime() / 1000 };
    const unsecured = new UnsecuredJWT(claims)
      .setSubject('7')
      .setIssuedAt(T0)
      .setExpirationTime(at(300))
      .setJti('j')
      .encode();
    await expectTokenError(verifyAccessToken(unsecured, settings, T0), 'invalid');
    await expectTokenError(verifyAccessToken(await signWithSecret(claims, 'HS512'), settings, T0), 'invalid');
  });

  it('check a signature once per token, and the time on every use', async () => {
    const settings = settingsWith({ JWT_LEEWAY: '30' });
    const token = await issueAccessToken(user, settings, { now: T0 });
    const verify = vi.spyOn(crypto.subtle, 'verify');
    for (const seconds of [0, 10, 329])
      await expect(verifyAccessToken(token, settings, at(seconds))).resolves.toBeTruthy();
    expect(verify).toHaveBeenCalledTimes(1);
    // Past its end, and before its first check (an iat in the future), it is checked afresh.
    await expectTokenError(verifyAccessToken(token, settings, at(330)), 'expired');
    await expectTokenError(verifyAccessToken(token, settings, at(-31)), 'invalid');
    // What one setting's keys accepted, another's does not.
    await expectTokenError(verifyAccessToken(token, settingsWith({ JWT_SECRET: 'y'.repeat(40) }), at(10)), 'invalid');
    const claims = await verifyAccessToken(token, settings, at(10));
    expect(Object.isFrozen(claims) && Object.isFrozen(claims.authentication)).toBe(true);
  });

  it('import the HMAC key once per settings, not once per token', async () => {
    const settings = settingsWith();
    const importKey = vi.spyOn(crypto.subtle, 'importKey');
    for (let i = 0; i < 3; i++)
      await verifyAccessToken(await issueAccessToken(user, settings, { now: T0 }), settings, T0);
    expect(importKey).toHaveBeenCalledTimes(1);
  });
});

describe('token kinds never mix', () => {
  it('an access token is not an activation token', async () => {
    const settings = settingsWith();
    await expectTokenError(
      verifyActivationToken(await issueAccessToken(user, settings, { now: T0 }), settings, T0),
      'invalid',
    );
  });

  it('an activation token is not an access token', async () => {
    const settings = settingsWith();
    await expectTokenError(
      verifyAccessToken(await issueActivationToken(7, 'jti-1', settings, T0), settings, T0),
      'invalid',
    );
  });
});

describe('activation tokens', () => {
  it('carry the user and the jti, and expire after ACTIVATION_EXPIRATION_DELTA', async () => {
    const settings = settingsWith({ ACTIVATION_EXPIRATION_DELTA: '1h' });
    const token = await issueActivationToken(7, 'jti-1', settings, T0);
    expect(await verifyActivationToken(token, settings, at(3599))).toEqual({ userId: 7, jti: 'jti-1' });
    await expectTokenError(verifyActivationToken(token, settings, at(3600)), 'expired');
  });
});

describe('refreshHasExpired', () => {
  it('is false up to orig_iat + JWT_REFRESH_EXPIRATION_DELTA and true after', () => {
    const settings = settingsWith({ JWT_REFRESH_EXPIRATION_DELTA: '1d' });
    const origIat = T0.getTime() / 1000;
    expect(refreshHasExpired(origIat, settings, at(86400))).toBe(false);
    expect(refreshHasExpired(origIat, settings, at(86401))).toBe(true);
  });
});

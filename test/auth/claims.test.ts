/**
 * Every claim check of an access token, one at a time: the control token passes, and each
 * mutation below breaks exactly one check (so removing that check makes its test fail).
 */
import { describe, expect, it } from 'vitest';
import { TokenError, verifyAccessToken } from '../../src/auth/tokens';
import { createUser, postJson, send, settings } from '../helpers';
import { accessClaims, signedWithServiceKey } from '../security/forge';

const USER_ID = 7;
const control = () => accessClaims(USER_ID, { is_staff: false });

type Claims = ReturnType<typeof control>;

async function verifyClaims(claims: Record<string, unknown>) {
  return verifyAccessToken(await signedWithServiceKey({}, claims), settings());
}

describe('access token claims', () => {
  it('the control token, shaped like ours, verifies', async () => {
    const claims = await verifyClaims(control());
    expect(claims).toMatchObject({ userId: USER_ID, username: `user${USER_ID}`, isStaff: false, tokenVersion: 0 });
  });

  it.each<[string, (claims: Claims) => Record<string, unknown>]>([
    ['user_id as text', () => ({ user_id: '7' })],
    ['user_id 0', () => ({ user_id: 0, sub: '0' })],
    ['a negative user_id', () => ({ user_id: -7, sub: '-7' })],
    ['a fractional user_id', () => ({ user_id: 7.5, sub: '7.5' })],
    ['a user_id past 2^53', () => ({ user_id: 2 ** 53, sub: String(2 ** 53) })],
    ['sub naming another user', () => ({ sub: '8' })],
    ['sub with a leading zero', () => ({ sub: '07' })],
    ['sub as a number', () => ({ sub: 7 })],
    ['orig_iat after iat', (claims) => ({ orig_iat: claims.iat + 1 })],
    ['a fractional orig_iat', (claims) => ({ orig_iat: claims.iat - 0.5 })],
    ['orig_iat as text', (claims) => ({ orig_iat: String(claims.iat) })],
    ['username as a number', () => ({ username: 7 })],
    ['no username', () => ({ username: undefined })],
    ['is_staff as text', () => ({ is_staff: 'true' })],
    ['is_staff as a number', () => ({ is_staff: 1 })],
    ['no is_staff', () => ({ is_staff: undefined })],
    ['token_version as text', () => ({ token_version: '0' })],
    ['a fractional token_version', () => ({ token_version: 0.5 })],
    ['no token_version', () => ({ token_version: undefined })],
    ['jti as a number', () => ({ jti: 42 })],
    ['sid as a number', () => ({ sid: 42 })],
    ['a lifetime longer than JWT_EXPIRATION_DELTA', (claims) => ({ exp: claims.iat + 301 })],
  ])('refuses %s, with a valid signature', async (_, change) => {
    const claims = control();
    const error = await verifyClaims({ ...claims, ...change(claims) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenError);
    expect((error as TokenError).code).toBe('invalid');
  });
});

describe('a token without orig_iat (another issuer of the tutorial format)', () => {
  it('authenticates and verifies, but refresh says "orig_iat field is required."', async () => {
    const user = await createUser();
    const token = await signedWithServiceKey(
      {},
      accessClaims(user.id, { username: user.username, is_staff: false, orig_iat: undefined }),
    );
    expect((await send('GET', '/users/me/', { token })).status).toBe(200);
    expect((await postJson('/auth/verify_token/', { token })).status).toBe(200);
    const refresh = await postJson('/auth/refresh_token/', { token });
    expect(refresh.status).toBe(400);
    expect(await refresh.json()).toEqual({ non_field_errors: ['orig_iat field is required.'] });
  });
});

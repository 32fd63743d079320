/** What an attacker can build: tokens with any header, payload and signature. */
import { env } from 'cloudflare:workers';
import { base64url } from 'jose';
import { expect } from 'vitest';
import { keyRing } from '../../src/auth/keys';
import { call, callWithEnv, settings } from '../helpers';

const encoder = new TextEncoder();
const part = (value: unknown) => base64url.encode(encoder.encode(JSON.stringify(value)));

export const now = () => Math.floor(Date.now() / 1000);

/** Claims shaped like a real access token of `userId`, valid for five minutes. */
export const accessClaims = (userId: number, overrides: Record<string, unknown> = {}) => ({
  sub: String(userId),
  user_id: userId,
  username: `user${userId}`,
  is_staff: true,
  token_version: 0,
  orig_iat: now(),
  iat: now(),
  exp: now() + 300,
  jti: crypto.randomUUID(),
  ...overrides,
});

/** header.payload with any signature (default: none). */
export const unsigned = (header: Record<string, unknown>, payload: Record<string, unknown>, signature = '') =>
  `${part(header)}.${part(payload)}.${signature}`;

/** HMAC-SHA256 over header.payload with `secret`, whatever the header says. */
export async function hmacSigned(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  secret: Uint8Array | string,
) {
  const bytes = typeof secret === 'string' ? encoder.encode(secret) : secret;
  const key = await crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const input = `${part(header)}.${part(payload)}`;
  const signature = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(input)));
  return `${input}.${base64url.encode(signature)}`;
}

/** Signed with the service's real secret and kid: only the header or claims are wrong. */
export async function signedWithServiceKey(header: Record<string, unknown>, payload: Record<string, unknown>) {
  const { kid } = (await keyRing(settings())).signing;
  return hmacSigned({ alg: 'HS256', typ: 'at+jwt', kid, ...header }, payload, String(env.JWT_SECRET).split(',')[0]!);
}

type Send = (token: string) => Promise<Response>;

/** Every place a token is presented, with the status a refusal must have there. */
export function tokenPaths(overrides?: Record<string, unknown>): [string, Send, number][] {
  const request = (path: string, init?: RequestInit) =>
    overrides ? callWithEnv(overrides, path, init) : call(path, init);
  const postToken = (path: string) => (token: string) =>
    request(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }) });
  return [
    [
      'Authorization on GET /users/me/',
      (token) => request('/users/me/', { headers: { Authorization: `Bearer ${token}` } }),
      401,
    ],
    [
      'Authorization on GET /tasks/',
      (token) => request('/tasks/', { headers: { Authorization: `JWT ${token}` } }),
      401,
    ],
    ['POST /auth/refresh_token/', postToken('/auth/refresh_token/'), 400],
    ['POST /auth/verify_token/', postToken('/auth/verify_token/'), 400],
    ['GET /api-activate/<token>/', (token) => request(`/api-activate/${token}/`), 401],
    ['POST /api-activate/', postToken('/api-activate/'), 401],
  ];
}

/** The token is refused on every path, with the path's 4xx, never a 2xx or a 5xx. */
export async function expectRefusedEverywhere(token: string, overrides?: Record<string, unknown>) {
  for (const [name, send, status] of tokenPaths(overrides)) {
    const response = await send(token);
    expect(response.status, `${name} answered ${response.status}: ${await response.clone().text()}`).toBe(status);
  }
}

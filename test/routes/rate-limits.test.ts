import { describe, expect, it } from 'vitest';
import { call, createUser, uniqueName } from '../helpers';

const THROTTLED = { detail: 'Request was throttled. Expected available in 60 seconds.' };
let nextIp = 1;
const freshIp = () => `203.0.113.${nextIp++}`;

const post = (path: string, body: unknown, ip: string) =>
  call(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'CF-Connecting-IP': ip },
    body: JSON.stringify(body),
  });

async function expectThrottled(response: Response) {
  expect(response.status).toBe(429);
  expect(response.headers.get('Retry-After')).toBe('60');
  expect(await response.json()).toEqual(THROTTLED);
}

const minute = () => Math.floor(Date.now() / 60_000);

/**
 * `limit` requests from `sequence`, then one more, which must be throttled. The local limiter's
 * windows start on the minute (as Cloudflare's do): a sequence that crossed one is sent again,
 * with fresh keys, so the count is exact.
 */
async function expectThrottledAfter(limit: number, sequence: () => { send: (i: number) => Promise<Response> }) {
  for (let attempt = 1; ; attempt++) {
    const started = minute();
    const { send } = sequence();
    for (let i = 0; i < limit; i++) expect((await send(i)).status).not.toBe(429);
    const last = await send(limit);
    if (minute() !== started && attempt === 1) continue;
    return expectThrottled(last);
  }
}

describe('rate limits on the auth routes (wrangler.toml: 20 a minute per IP and route, 10 per username)', () => {
  it('throttle obtain per client IP, counting both obtain paths together and no other route', async () => {
    let ip = '';
    await expectThrottledAfter(20, () => {
      ip = freshIp();
      // Both obtain paths count together.
      return {
        send: (i) =>
          post(i % 2 ? '/api-auth/' : '/auth/obtain_token/', { username: uniqueName('guess'), password: 'x' }, ip),
      };
    });
    expect((await post('/api-auth/', { username: uniqueName('guess'), password: 'x' }, freshIp())).status).toBe(400);
    const registered = await post(
      '/api-register/',
      { username: uniqueName(), password: 'pw-1234567', email: 'a@example.com' },
      ip,
    );
    expect(registered.status).toBe(201);
  });

  it('throttle obtain per username, whatever the IP', async () => {
    await expectThrottledAfter(10, () => {
      const user = createUser();
      return {
        send: async (i) =>
          post(
            '/api-auth/',
            { username: (await user).username, password: i < 10 ? `guess-${i}` : (await user).password },
            freshIp(),
          ),
      };
    });
  });

  it.each([
    ['POST /api-register/', (ip: string) => post('/api-register/', {}, ip)],
    [
      'GET /api-activate/<token>/',
      (ip: string) => call('/api-activate/not.a.token/', { headers: { 'CF-Connecting-IP': ip } }),
    ],
    ['POST /api-activate/', (ip: string) => post('/api-activate/', { token: 'not.a.token' }, ip)],
    [
      'GET /auth/external/<provider>/',
      (ip: string) => call('/auth/external/nowhere/', { headers: { 'CF-Connecting-IP': ip } }),
    ],
    [
      'GET /auth/external/<provider>/callback',
      (ip: string) => call('/auth/external/nowhere/callback?state=x', { headers: { 'CF-Connecting-IP': ip } }),
    ],
    ['POST /auth/refresh_token/', (ip: string) => post('/auth/refresh_token/', { token: 'not.a.token' }, ip)],
  ])('throttle %s per client IP', async (_, send) => {
    await expectThrottledAfter(20, () => {
      const ip = freshIp();
      return { send: () => send(ip) };
    });
  });
});

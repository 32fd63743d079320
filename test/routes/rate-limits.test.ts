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

describe('rate limits on the auth routes (wrangler.toml: 20 a minute per IP and route, 10 per username)', () => {
  it('throttle obtain per client IP, counting both obtain paths together and no other route', async () => {
    const ip = freshIp();
    for (let i = 0; i < 20; i++) {
      const path = i % 2 ? '/api-auth/' : '/auth/obtain_token/';
      expect((await post(path, { username: uniqueName('guess'), password: 'x' }, ip)).status).toBe(400);
    }
    await expectThrottled(await post('/api-auth/', { username: uniqueName('guess'), password: 'x' }, ip));
    expect((await post('/api-auth/', { username: uniqueName('guess'), password: 'x' }, freshIp())).status).toBe(400);
    const registered = await post(
      '/api-register/',
      { username: uniqueName(), password: 'pw-1234567', email: 'a@example.com' },
      ip,
    );
    expect(registered.status).toBe(201);
  });

  it('throttle obtain per username, whatever the IP', async () => {
    const user = await createUser();
    for (let i = 0; i < 10; i++) {
      expect((await post('/api-auth/', { username: user.username, password: `guess-${i}` }, freshIp())).status).toBe(
        400,
      );
    }
    await expectThrottled(await post('/api-auth/', { username: user.username, password: user.password }, freshIp()));
  });

  it.each([
    ['POST /api-register/', (ip: string) => post('/api-register/', {}, ip)],
    [
      'GET /api-activate/<token>/',
      (ip: string) => call('/api-activate/not.a.token/', { headers: { 'CF-Connecting-IP': ip } }),
    ],
    ['POST /api-activate/', (ip: string) => post('/api-activate/', { token: 'not.a.token' }, ip)],
    ['POST /auth/refresh_token/', (ip: string) => post('/auth/refresh_token/', { token: 'not.a.token' }, ip)],
  ])('throttle %s per client IP', async (_, send) => {
    const ip = freshIp();
    for (let i = 0; i < 20; i++) expect((await send(ip)).status).not.toBe(429);
    await expectThrottled(await send(ip));
  });
});

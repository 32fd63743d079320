import { describe, expect, it } from 'vitest';
import { call, callWithEnv, SITE_URL } from '../helpers';

describe('GET /', () => {
  it('lists the API with absolute URLs built from SITE_URL, never from Host', async () => {
    const response = await call('/', { headers: { Host: 'evil.example', 'X-Forwarded-Host': 'evil.example' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      tasks: `${SITE_URL}/tasks/`,
      users: `${SITE_URL}/users/`,
      register: `${SITE_URL}/api-register/`,
      activate: `${SITE_URL}/api-activate/`,
      obtain_token: `${SITE_URL}/auth/obtain_token/`,
      refresh_token: `${SITE_URL}/auth/refresh_token/`,
      verify_token: `${SITE_URL}/auth/verify_token/`,
      app: `${SITE_URL}/app/`,
      docs: `${SITE_URL}/docs`,
      openapi: `${SITE_URL}/openapi.json`,
    });
  });

  it('follows SITE_URL, including a path prefix', async () => {
    const response = await callWithEnv({ SITE_URL: 'https://api.example.com/v1/' }, '/');
    expect(((await response.json()) as Record<string, string>).register).toBe(
      'https://api.example.com/v1/api-register/',
    );
  });

  it('answers HEAD like GET, without a body', async () => {
    const response = await call('/', { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });
});

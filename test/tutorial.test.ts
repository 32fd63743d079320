/**
 * The tutorial's transcript (shared/seed), as a client written against it would run it:
 * register -> confirmation_url -> activate -> obtain -> refresh -> verify, then use the token.
 */
import { expect, it } from 'vitest';
import { call, pathOf, postJson, SITE_URL, uniqueName } from './helpers';

it('register, activate by the confirmation_url, obtain, refresh, verify and use the token', async () => {
  const username = uniqueName('user_name');

  // $ http POST :8787/api-register/ username=user_name password=your_pass email=your.email@abc.com
  const registered = await postJson('/api-register/', { username, password: 'your_pass', email: 'your.email@abc.com' });
  expect(registered.status).toBe(201);
  const { confirmation_url } = (await registered.json()) as { confirmation_url: string };
  expect(confirmation_url.startsWith(`${SITE_URL}/api-activate/`)).toBe(true);

  // Before activation the user cannot log in.
  const tooEarly = await postJson('/api-auth/', { username, password: 'your_pass' });
  expect(tooEarly.status).toBe(400);

  // $ http GET <confirmation_url>
  const activated = await call(pathOf(confirmation_url));
  expect(activated.status).toBe(200);
  expect(await activated.json()).toEqual(['User Activated']);

  // $ http POST :8787/api-auth/ username=user_name password=your_pass
  const obtained = await postJson('/api-auth/', { username, password: 'your_pass' });
  expect(obtained.status).toBe(200);
  const { token } = (await obtained.json()) as { token: string };

  // $ curl -X POST -H "Content-Type: application/json" -d '{"token":"<EXISTING_TOKEN>"}' :8787/auth/refresh_token/
  const refreshed = await postJson('/auth/refresh_token/', { token });
  expect(refreshed.status).toBe(200);
  const { token: newToken } = (await refreshed.json()) as { token: string };
  expect(newToken).not.toBe(token);

  const verified = await postJson('/auth/verify_token/', { token: newToken });
  expect(verified.status).toBe(200);
  expect(await verified.json()).toEqual({ token: newToken });

  // $ curl -X POST -H "Content-Type: application/json" -d '{"username":..,"password":..}' :8787/auth/obtain_token
  const viaObtain = await postJson('/auth/obtain_token', { username, password: 'your_pass' });
  expect(viaObtain.status).toBe(200);

  // $ http GET :8787/ 'Authorization: JWT <token>' (and Bearer)
  for (const prefix of ['JWT', 'Bearer']) {
    expect((await call('/', { headers: { Authorization: `${prefix} ${newToken}` } })).status).toBe(200);
  }
});

/**
 * The tutorial's transcript (shared/seed), as a client written against it would run it:
 * register -> confirmation_url -> activate -> obtain -> refresh -> verify, then use the token.
 */
import { expect, it } from 'vitest';
import { call, createUser, pathOf, postJson, send, SITE_URL, uniqueName } from './helpers';

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

it('the tasks transcript: anonymous POST refused, obtain, POST with Bearer and with JWT, list', async () => {
  const admin = await createUser({ username: uniqueName('admin'), password: 'admin', isStaff: true });
  const createTask = { due_to: '2016-10-18T19:12:01Z', person: admin.id, title: 'Next one' };

  // $ http GET :8787/tasks/
  expect((await call('/tasks/')).status).toBe(200);

  // $ http POST :8787/tasks/ < create_task.json
  const anonymous = await send('POST', '/tasks/', { body: createTask });
  expect(anonymous.status).toBe(401);
  expect(await anonymous.json()).toEqual({ detail: 'Authentication credentials were not provided.' });

  // $ http POST :8787/api-auth/ username=admin password=admin
  const obtained = await postJson('/api-auth/', { username: admin.username, password: 'admin' });
  const { token } = (await obtained.json()) as { token: string };

  // $ http POST :8787/tasks/ < create_task.json 'Authorization: JWT <token>' (and Bearer)
  for (const prefix of ['JWT', 'Bearer']) {
    const created = await send('POST', '/tasks/', { token, prefix, body: createTask });
    expect(created.status).toBe(201);
    const task = (await created.json()) as { id: number };
    expect(task).toEqual({
      due_to: '2016-10-18T19:12:01Z',
      id: task.id,
      person: admin.id,
      title: 'Next one',
      url: `${SITE_URL}/tasks/${task.id}/`,
    });
  }
  const list = (await (await call(`/tasks/?person=${admin.id}`)).json()) as { count: number };
  expect(list.count).toBe(2);
});

it('a registered and activated user creates and lists their own tasks', async () => {
  const username = uniqueName('newcomer');
  const registered = await postJson('/api-register/', {
    username,
    password: 'newcomer-pass',
    email: `${username}@example.com`,
  });
  const { confirmation_url } = (await registered.json()) as { confirmation_url: string };
  expect((await call(pathOf(confirmation_url))).status).toBe(200);
  const { token } = (await (await postJson('/auth/obtain_token/', { username, password: 'newcomer-pass' })).json()) as {
    token: string;
  };

  const created = await send('POST', '/tasks/', {
    token,
    body: { title: 'My first task', due_to: '2030-06-01T09:00:00Z' },
  });
  expect(created.status).toBe(201);
  const me = (await (await send('GET', '/users/me/', { token })).json()) as { id: number; tasks: number[] };
  const task = (await created.json()) as { id: number; person: number };
  expect(task.person).toBe(me.id);
  expect(me.tasks).toEqual([task.id]);
  const mine = (await (await call(`/tasks/?person=${me.id}`)).json()) as { results: { title: string }[] };
  expect(mine.results.map((t) => t.title)).toEqual(['My first task']);
});

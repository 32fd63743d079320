/** Nothing tells an unknown username from a wrong password or an inactive account. */
import { describe, expect, it } from 'vitest';
import { createUser, postJson, uniqueName } from '../helpers';

async function attempt(username: string, password: string) {
  const response = await postJson('/api-auth/', { username, password });
  return {
    status: response.status,
    body: await response.text(),
    // The date and the request id differ from one request to the next by design.
    // Per request: the date, the request id, and the database position read (X-D1-Bookmark moves
    // with every write anyone makes; none of these three attempts writes).
    headers: [...response.headers].filter(([name]) => !['date', 'x-request-id', 'x-d1-bookmark'].includes(name)),
  };
}

describe('user enumeration', () => {
  it('obtain answers the same status, body and headers for an unknown user, a wrong password and an inactive user', async () => {
    const active = await createUser();
    const inactive = await createUser({ isActive: false });
    const unknown = await attempt(uniqueName('ghost'), 'whatever-password');
    const wrongPassword = await attempt(active.username, 'whatever-password');
    const inactiveRight = await attempt(inactive.username, inactive.password);
    const inactiveWrong = await attempt(inactive.username, 'whatever-password');
    expect(unknown.status).toBe(400);
    expect(unknown.body).toBe('{"non_field_errors":["Unable to log in with provided credentials."]}');
    for (const other of [wrongPassword, inactiveRight, inactiveWrong]) expect(other).toEqual(unknown);
  });

  it('register says a username is taken only once the rest of the body is valid', async () => {
    const existing = await createUser();
    const response = await postJson('/api-register/', {
      username: existing.username,
      password: 'short',
      email: 'x@example.com',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      password: ['This password is too short. It must contain at least 8 characters.'],
    });
  });
});

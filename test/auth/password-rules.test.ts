import { describe, expect, it } from 'vitest';
import { passwordProblems } from '../../src/auth/password-rules';
import { callWithEnv, createUser, accessTokenFor, postJson, send, uniqueName } from '../helpers';

const alice = { username: 'alice_liddell', email: 'alice@wonderland.example' };

describe("Django's default password validators", () => {
  it.each([
    ['short', ['This password is too short. It must contain at least 8 characters.']],
    ['password', ['This password is too common.']],
    ['Football ', ['This password is too common.']],
    ['83520417', ['This password is entirely numeric.']],
    ['12345678', ['This password is too common.', 'This password is entirely numeric.']],
    ['alice_liddell1', ['The password is too similar to the username.']],
    ['llddeil_ecila', ['The password is too similar to the username.']],
    ['wonderland!', ['The password is too similar to the email address.']],
    [
      '1234',
      ['This password is too short. It must contain at least 8 characters.', 'This password is entirely numeric.'],
    ],
  ])('%j breaks %j', (password, problems) => {
    expect(passwordProblems(password, alice)).toEqual(problems);
  });

  it.each(['correct horse battery staple', 'Tr0ub4dor&3x', 'a long passphrase with alice in it'])(
    '%j is acceptable',
    (password) => {
      expect(passwordProblems(password, alice)).toEqual([]);
    },
  );
});

describe('POST /api-register/ applies them', () => {
  it('answers 400 with every problem under "password"', async () => {
    const username = uniqueName('bob');
    const response = await postJson('/api-register/', { username, password: '12345678', email: 'bob@example.com' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      password: ['This password is too common.', 'This password is entirely numeric.'],
    });
    const similar = await postJson('/api-register/', { username, password: `${username}!`, email: 'bob@example.com' });
    expect(await similar.json()).toEqual({ password: ['The password is too similar to the username.'] });
  });

  it('answers 403 when REGISTRATION_OPEN is false', async () => {
    const response = await callWithEnv({ REGISTRATION_OPEN: 'false' }, '/api-register/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: uniqueName(), password: 'a fine passphrase', email: 'c@example.com' }),
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ detail: 'Registration is closed.' });
  });
});

describe('PATCH /users/me/ applies them to a new password', () => {
  it('answers 400 and keeps the old password', async () => {
    const user = await createUser();
    const token = await accessTokenFor(user);
    const response = await send('PATCH', '/users/me/', {
      token,
      body: { password: 'qwertyuiop', current_password: user.password },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ password: ['This password is too common.'] });
    expect((await postJson('/api-auth/', { username: user.username, password: user.password })).status).toBe(200);
  });
});

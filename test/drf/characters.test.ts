/**
 * Lengths count characters (code points), as Python and Django do, not UTF-16 units; and DRF's
 * CharField refuses NUL and lone surrogates.
 */
import { describe, expect, it } from 'vitest';
import { passwordProblems } from '../../src/auth/password-rules';
import { call, createUserWithToken, postJson, send, uniqueName } from '../helpers';

const TOO_SHORT = 'This password is too short. It must contain at least 8 characters.';

describe('password rules count characters', () => {
  it('finds four emoji too short (8 UTF-16 units, 4 characters)', () => {
    expect(passwordProblems('😀😀😀😀', { username: 'alice', email: 'alice@example.com' })).toEqual([TOO_SHORT]);
  });

  it('accepts eight emoji', () => {
    expect(passwordProblems('😀🎉🚀🌟🍕🎸🦄🔥', { username: 'alice', email: 'alice@example.com' })).toEqual([]);
  });

  it('measures similarity in characters, not UTF-16 units (astral letters share surrogate halves)', () => {
    // Found by comparing both counts, as Python's SequenceMatcher would see each string.
    expect(passwordProblems('aaa💷💶a𝒷💷b𝒷', { username: 'a💶b𝒷𝒷💶', email: '' })).toEqual([]);
    expect(passwordProblems('𝒷b💷b𝒶💷ba💶', { username: 'bb𝒷💶a', email: '' })).toEqual([
      'The password is too similar to the username.',
    ]);
  });

  it("counts digits of any script as numeric, as Python's isdigit()", () => {
    expect(passwordProblems('٣٨٥٢٠٤١٧', { username: 'alice', email: '' })).toEqual([
      'This password is entirely numeric.',
    ]);
  });

  it('POST /api-register/ answers the short-password error for four emoji', async () => {
    const username = uniqueName('emoji');
    const response = await postJson('/api-register/', {
      username,
      password: '😀😀😀😀',
      email: `${username}@example.com`,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ password: [TOO_SHORT] });
  });
});

describe('char fields count characters', () => {
  it('POST /tasks/ accepts a title of 100 emoji and refuses 101', async () => {
    const owner = await createUserWithToken();
    const create = (title: string) =>
      send('POST', '/tasks/', { token: owner.token, body: { title, due_to: '2030-01-01T00:00:00Z' } });
    const hundred = await create('😀'.repeat(100));
    expect(hundred.status).toBe(201);
    expect(((await hundred.json()) as { title: string }).title).toBe('😀'.repeat(100));
    const tooLong = await create('😀'.repeat(101));
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toEqual({ title: ['Ensure this field has no more than 100 characters.'] });
  });

  it('POST /api-register/ accepts a username of up to 150 letters outside the BMP', async () => {
    const username = '𠀀'.repeat(130) + uniqueName('u'); // 260 UTF-16 units, at most 150 characters
    const response = await postJson('/api-register/', {
      username,
      password: 'a long enough password',
      email: 'astral@example.com',
    });
    expect(response.status).toBe(201);
  });

  it.each([
    ['a NUL character', 'before\u0000after', 'Null characters are not allowed.'],
    ['a lone high surrogate', 'before\ud800after', 'Surrogate characters are not allowed: U+D800.'],
    ['a lone low surrogate', '\udfff', 'Surrogate characters are not allowed: U+DFFF.'],
  ])('answers 400 for %s in a title, a username and a password', async (_, text, message) => {
    const owner = await createUserWithToken();
    const task = await call('/tasks/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${owner.token}` },
      body: JSON.stringify({ title: text, due_to: '2030-01-01T00:00:00Z' }),
    });
    expect(task.status).toBe(400);
    expect(await task.json()).toEqual({ title: [message] });
    const registered = await postJson('/api-register/', {
      username: `u${text}`,
      password: `p${text}word-long`,
      email: 'x@example.com',
    });
    expect(registered.status).toBe(400);
    const errors = (await registered.json()) as Record<string, string[]>;
    expect(errors.password).toContain(message);
  });
});

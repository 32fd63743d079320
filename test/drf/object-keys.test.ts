/**
 * Request text used as a key: the names of Object.prototype's members (`constructor`,
 * `__proto__`, `toString`, ...) are ordinary text wherever a client can send them.
 */
import { describe, expect, it } from 'vitest';
import { call, createUserWithToken, postJson, send } from '../helpers';

const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);

describe('?ordering= with the name of an Object.prototype member', () => {
  it.each(['/tasks/', '/users/'])(
    'GET %s answers 400 naming the choice, for each name and its descending form',
    async (path) => {
      for (const name of PROTOTYPE_NAMES) {
        for (const term of [name, `-${name}`]) {
          const response = await call(`${path}?ordering=${encodeURIComponent(term)}`);
          expect(response.status, `${path}?ordering=${term}`).toBe(400);
          expect(await response.json()).toEqual({
            ordering: [`Select a valid choice. ${term} is not one of the available choices.`],
          });
        }
      }
    },
  );
});

describe('query parameters named like Object.prototype members', () => {
  it.each([
    ['/', 200],
    ['/tasks/', 200],
    ['/users/', 200],
    ['/tasks/999999/', 404],
    ['/users/me/', 401],
    ['/.well-known/jwks.json', 200],
  ])('GET %s ignores them, as it ignores any parameter it does not know (%i)', async (path, status) => {
    const query = PROTOTYPE_NAMES.map((name) => `${encodeURIComponent(name)}=1`).join('&');
    const response = await call(`${path}?${query}`);
    expect(response.status, path).toBe(status);
    expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
  });
});

describe('bodies whose keys are Object.prototype members', () => {
  const hostileKeys = Object.fromEntries(PROTOTYPE_NAMES.map((name) => [name, { title: 'injected', is_staff: true }]));

  it('POST /tasks/ reads only its own fields from a JSON body', async () => {
    const owner = await createUserWithToken();
    const body = JSON.parse(
      JSON.stringify({ ...hostileKeys, title: 'plain', due_to: '2030-01-01T00:00:00Z' }).replace(
        '"constructor"',
        '"__proto__":{"person":1},"constructor"',
      ),
    );
    const response = await send('POST', '/tasks/', { token: owner.token, body });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ title: 'plain', person: owner.id });
  });

  it('POST /api-register/ and /api-auth/ answer field errors, never a 5xx, for a JSON or form body of such keys', async () => {
    for (const path of ['/api-register/', '/api-auth/', '/auth/refresh_token/', '/api-activate/']) {
      const json = await postJson(path, hostileKeys);
      expect(json.status, path).toBe(400);
      const form = await call(path, {
        method: 'POST',
        body: new URLSearchParams(PROTOTYPE_NAMES.map((name) => [name, 'x'])),
      });
      expect(form.status, path).toBe(400);
      expect(Object.keys((await form.json()) as object).length).toBeGreaterThan(0);
    }
  });
});

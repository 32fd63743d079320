/** Read replicas: every request runs in a D1 session, and X-D1-Bookmark carries its position. */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { call, callWithEnv, createUserWithToken, send } from '../helpers';

const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

describe('X-D1-Bookmark', () => {
  it("a write's bookmark, sent back, makes the next read see that write", async () => {
    const user = await createUserWithToken();
    const created = await send('POST', '/tasks/', {
      token: user.token,
      body: { title: 'fresh', due_to: '2030-01-01T00:00:00Z' },
    });
    expect(created.status).toBe(201);
    const bookmark = created.headers.get('X-D1-Bookmark');
    expect(bookmark).toMatch(BOOKMARK);
    const { id } = (await created.json()) as { id: number };
    const read = await call(`/tasks/${id}/`, { headers: { 'X-D1-Bookmark': bookmark! } });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { title: string }).title).toBe('fresh');
    // The read's own position is at least the write's.
    expect(read.headers.get('X-D1-Bookmark')! >= bookmark!).toBe(true);
  });

  it('ignores a header that is not a bookmark, and never echoes it', async () => {
    for (const value of ['garbage', 'first-primary', `${'0'.repeat(8)}-${'0'.repeat(8)}`, 'x'.repeat(300)]) {
      const response = await call('/tasks/', { headers: { 'X-D1-Bookmark': value } });
      expect(response.status, value).toBe(200);
      expect(response.headers.get('X-D1-Bookmark'), value).toMatch(BOOKMARK);
    }
  });

  it('is exposed to apps on listed origins', async () => {
    const response = await callWithEnv({ CORS_ALLOWED_ORIGINS: 'https://app.example.com' }, '/tasks/', {
      headers: { Origin: 'https://app.example.com' },
    });
    expect(response.headers.get('Access-Control-Expose-Headers')).toContain('X-D1-Bookmark');
  });

  it('starts writes and revocation-checked reads at the primary, other reads anywhere, a bookmark where it says', async () => {
    const user = await createUserWithToken();
    const started: unknown[] = [];
    const DB = new Proxy(env.DB, {
      get(target, property) {
        if (property === 'withSession') {
          return (constraint: string) => {
            started.push(constraint);
            return target.withSession(constraint);
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const auth = { Authorization: `Bearer ${user.token}` };
    const bookmark = '00000000-00000001-00000000-00000000000000000000000000000000';
    await callWithEnv({ DB }, '/tasks/');
    await callWithEnv({ DB }, '/tasks/', { headers: auth });
    await callWithEnv({ DB }, '/tasks/', {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: '{}',
    });
    await callWithEnv({ DB, JWT_REVOCATION_CHECK: 'true' }, '/tasks/', { headers: auth });
    await callWithEnv({ DB }, '/tasks/', { headers: { 'X-D1-Bookmark': bookmark } });
    expect(started).toEqual(['first-unconstrained', 'first-unconstrained', 'first-primary', 'first-primary', bookmark]);
  });
});

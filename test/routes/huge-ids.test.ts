/**
 * Ids past 2^53 cannot be told apart as JS numbers: a path id that is not a safe integer is a
 * 404, never a read of the row whose id it rounds to.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call } from '../helpers';

describe('a path id past 2^53', () => {
  it('is 404, not the row whose id it rounds to', async () => {
    const rounded = 2 ** 53; // 9007199254740993 becomes this as a JS number
    const { seq } = (await env.DB.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'users'").first<{
      seq: number;
    }>()) ?? { seq: 0 };
    await env.DB.prepare(
      "INSERT INTO users (id, username, password, is_active) VALUES (?, 'huge', 'pbkdf2_sha256$1$s$h', 1)",
    )
      .bind(rounded)
      .run();
    try {
      for (const path of ['/users/9007199254740993/', '/tasks/9007199254740993/']) {
        const response = await call(path);
        expect(response.status, path).toBe(404);
        expect(await response.json()).toEqual({ detail: 'Not found.' });
      }
    } finally {
      // Test files share the database: the row would move every later autoincrement id past 2^53.
      await env.DB.batch([
        env.DB.prepare('DELETE FROM users WHERE id = ?').bind(rounded),
        env.DB.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'users'").bind(seq),
      ]);
    }
  });
});

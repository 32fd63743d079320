/** The migrations themselves, on a database that holds rows written before them. */
import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';

describe('migrations on a database with rows from before them', () => {
  it('0002 converts every stored due date, clamping the years the old code let through; 0007 counts the rows there', async () => {
    const db = env.MIGRATION_TEST_DB;
    const before = env.TEST_MIGRATIONS.filter((migration) => migration.name < '0002');
    expect(before.map((migration) => migration.name)).toEqual(['0000_init.sql', '0001_token_version.sql']);
    await applyD1Migrations(db, before);
    await db.prepare("INSERT INTO users (id, username, password) VALUES (1, 'old', 'pbkdf2_sha256$1$s$h')").run();
    const stored = [
      1476817921000, // 2016-10-18T19:12:01Z
      1476817921123, // with milliseconds
      -1, // just before 1970
      -62135596800000, // 0001-01-01T00:00:00Z
      253402300799999, // 9999-12-31T23:59:59.999Z
      253402300800000 + 3_600_000, // year 10000, as "+010000-..." was stored
      -62167219200000, // year 0
    ];
    for (const [i, dueTo] of stored.entries()) {
      await db
        .prepare('INSERT INTO tasks (id, title, person_id, due_to) VALUES (?, ?, 1, ?)')
        .bind(i + 1, `t${i}`, dueTo)
        .run();
    }
    await db.prepare("INSERT INTO users (id, username, password) VALUES (2, 'other', 'pbkdf2_sha256$1$s$h')").run();
    await applyD1Migrations(db, env.TEST_MIGRATIONS);
    // Migration 0007 starts its counters from the rows already there.
    const counters = await db.prepare('SELECT name, count FROM row_counts ORDER BY name').all();
    expect(counters.results).toEqual([
      { name: 'tasks', count: stored.length },
      { name: 'users', count: 2 },
    ]);
    const perUser = await db.prepare('SELECT id, task_count FROM users ORDER BY id').all();
    expect(perUser.results).toEqual([
      { id: 1, task_count: stored.length },
      { id: 2, task_count: 0 },
    ]);
    const { results } = await db.prepare('SELECT due_to FROM tasks ORDER BY id').all<{ due_to: string }>();
    expect(results.map((row) => row.due_to)).toEqual([
      '2016-10-18T19:12:01.000000Z',
      '2016-10-18T19:12:01.123000Z',
      '1969-12-31T23:59:59.999000Z',
      '0001-01-01T00:00:00.000000Z',
      '9999-12-31T23:59:59.999000Z',
      '9999-12-31T23:59:59.999999Z',
      '0001-01-01T00:00:00.000000Z',
    ]);
  });
});

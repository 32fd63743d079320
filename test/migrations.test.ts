/** The migrations themselves, on a database that holds rows written before them. */
import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';

describe('migration 0002 (due_to as UTC text with microseconds)', () => {
  it('converts every stored millisecond value, clamping the years the old code let through', async () => {
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
    await applyD1Migrations(db, env.TEST_MIGRATIONS);
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

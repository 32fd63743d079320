/** The benchmarks' database: users bench1, bench2, ... with 100 tasks each, straight into D1. */
import { hashPassword } from '../src/auth/passwords.ts';
import { withLocalD1 } from '../scripts/local-d1.ts';

export const TASKS_PER_USER = 100;
/** Every bench user's password (hashed as the service hashes one: PBKDF2, 100,000 iterations). */
export const PASSWORD = 'bench password 1';

/**
 * Adds users (bench1, bench2, ...) to the local D1 under `persistTo` (migrated first) up to
 * `tasks / TASKS_PER_USER`, each with 100 tasks.
 */
export async function growTo(persistTo: string, tasks: number): Promise<void> {
  const hash = await hashPassword(PASSWORD);
  await withLocalD1(persistTo, async (db) => {
    const count = await db
      .prepare("SELECT COUNT(*) AS count FROM users WHERE username >= 'bench' AND username < 'benci'")
      .first<number>('count');
    const from = (count ?? 0) + 1;
    const to = tasks / TASKS_PER_USER;
    // Chunks of 1,000 users and their 100,000 tasks: one batch of two statements each, the count
    // triggers included.
    for (let first = from; first <= to; first += 1000) {
      const last = Math.min(first + 999, to);
      await db.batch([
        db
          .prepare(
            `WITH RECURSIVE n(i) AS (SELECT CAST(?1 AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
             INSERT INTO users (username, email, password, is_active, is_staff)
             SELECT 'bench' || i, 'bench' || i || '@example.com', ?3, 1, 0 FROM n`,
          )
          .bind(first, last, hash),
        db
          .prepare(
            `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${TASKS_PER_USER})
             INSERT INTO tasks (title, person_id, due_to)
             SELECT 'task ' || abs(random() % 100000), users.id,
                    strftime('%Y-%m-%dT%H:%M:%S', 1700000000 + abs(random() % 300000000), 'unixepoch') || '.000000Z'
             FROM users JOIN n
             WHERE users.username IN (SELECT 'bench' || value FROM json_each(?1))`,
          )
          .bind(JSON.stringify(Array.from({ length: last - first + 1 }, (_, k) => first + k))),
      ]);
      process.stderr.write(`\r  ${(last * TASKS_PER_USER).toLocaleString('en')} tasks`);
    }
    process.stderr.write('\n');
  });
}

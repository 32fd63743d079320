/**
 * The local D1 database that `wrangler dev` serves (under .wrangler/state, or under the
 * directory of `--persist-to`), opened in this process through wrangler's getPlatformProxy: one
 * Node process instead of a wrangler CLI run for each command. Pending migrations are applied
 * first and recorded in d1_migrations exactly as `wrangler d1 migrations apply` records them, so
 * either one carries on from the other.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { D1Database } from '@cloudflare/workers-types';
import { projectRoot, wranglerEnv } from './wrangler.ts';

Object.assign(process.env, wranglerEnv);
process.env.WRANGLER_LOG ??= 'warn'; // not "Using secrets defined in .dev.vars"
// Only the database is used here: the Worker's required secret need not exist yet.
process.env.JWT_SECRET ??= 'unused-by-local-d1';
const { getPlatformProxy, unstable_splitSqlQuery: splitSql } = await import('wrangler');

const MIGRATIONS_DIR = path.join(projectRoot, 'migrations');

async function applyPendingMigrations(db: D1Database): Promise<void> {
  await db
    .prepare(
      `CREATE TABLE IF NOT EXISTS d1_migrations (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         name TEXT UNIQUE,
         applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
       )`,
    )
    .run();
  const { results } = await db.prepare('SELECT name FROM d1_migrations').all<{ name: string }>();
  const applied = new Set(results.map(({ name }) => name));
  const pending = readdirSync(MIGRATIONS_DIR)
    .filter((name) => name.endsWith('.sql') && !applied.has(name))
    .sort();
  for (const name of pending) {
    const statements = splitSql(readFileSync(path.join(MIGRATIONS_DIR, name), 'utf8'));
    // One batch: a migration and its record commit together or not at all.
    await db.batch([
      ...statements.map((statement) => db.prepare(statement)),
      db.prepare('INSERT INTO d1_migrations (name) VALUES (?)').bind(name),
    ]);
  }
}

/** Runs `use` on the local database, migrated; `persistTo` is wrangler dev's --persist-to. */
export async function withLocalD1<T>(persistTo: string | undefined, use: (db: D1Database) => Promise<T>): Promise<T> {
  const { env, dispose } = await getPlatformProxy<{ DB: D1Database }>({
    configPath: path.join(projectRoot, 'wrangler.toml'),
    persist: { path: path.join(path.resolve(projectRoot, persistTo ?? '.wrangler/state'), 'v3') },
    remoteBindings: false,
  });
  try {
    await applyPendingMigrations(env.DB);
    return await use(env.DB);
  } finally {
    await dispose();
  }
}

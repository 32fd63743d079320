/**
 * The local D1 database that `wrangler dev` serves (under .wrangler/state, or under the
 * directory of `--persist-to`), opened in this process through wrangler's getPlatformProxy: one
 * Node process instead of a wrangler CLI run for each command. Pending migrations are applied
 * first and recorded as `wrangler d1 migrations apply` records them (the folder and table of
 * wrangler.toml, one batch per migration with its record), so either one carries on from the
 * other.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { D1Database } from '@cloudflare/workers-types';
import { projectRoot, wranglerEnv } from './wrangler.ts';

const CONFIG_PATH = path.join(projectRoot, 'wrangler.toml');

/** Runs `action` with these environment variables set, then puts the environment back. */
async function withEnv<T>(vars: Record<string, string>, action: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, vars);
  try {
    return await action();
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
}

/** Starts the local D1 (workerd, through getPlatformProxy) and reads its migrations settings. */
const openLocalD1 = (persistTo: string | undefined) =>
  withEnv(
    {
      ...wranglerEnv,
      WRANGLER_LOG: process.env.WRANGLER_LOG ?? 'warn', // not "Using secrets defined in .dev.vars"
      // Only the database is used here: the Worker's required secrets need not exist yet.
      JWT_SECRET: process.env.JWT_SECRET ?? 'unused-by-local-d1',
      OIDC_SIGNING_KEY: process.env.OIDC_SIGNING_KEY ?? 'unused-by-local-d1',
    },
    async () => {
      const { getPlatformProxy, unstable_readConfig, unstable_splitSqlQuery } = await import('wrangler');
      const databases: { binding: string; migrations_dir?: string; migrations_table?: string }[] = unstable_readConfig({
        config: CONFIG_PATH,
      }).d1_databases;
      const binding = databases.find((database) => database.binding === 'DB');
      const proxy = await getPlatformProxy<{ DB: D1Database }>({
        configPath: CONFIG_PATH,
        persist: { path: path.join(path.resolve(projectRoot, persistTo ?? '.wrangler/state'), 'v3') },
        remoteBindings: false,
      });
      return {
        proxy,
        migrations: {
          dir: path.resolve(projectRoot, binding?.migrations_dir ?? 'migrations'),
          table: binding?.migrations_table ?? 'd1_migrations',
          splitSql: unstable_splitSqlQuery,
        },
      };
    },
  );

async function applyPendingMigrations(
  db: D1Database,
  { dir, table, splitSql }: { dir: string; table: string; splitSql: (sql: string) => string[] },
): Promise<void> {
  const quoted = `"${table.replaceAll('"', '""')}"`;
  await db
    .prepare(
      `CREATE TABLE IF NOT EXISTS ${quoted} (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         name TEXT UNIQUE,
         applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
       )`,
    )
    .run();
  const { results } = await db.prepare(`SELECT name FROM ${quoted}`).all<{ name: string }>();
  const applied = new Set(results.map(({ name }) => name));
  // Names start with a zero-padded number (drizzle-kit's 0000_...), so their order is the numbers'.
  const pending = readdirSync(dir)
    .filter((name) => name.endsWith('.sql') && !applied.has(name))
    .sort();
  for (const name of pending) {
    const statements = splitSql(readFileSync(path.join(dir, name), 'utf8'));
    // One batch: a migration and its record commit together or not at all.
    await db.batch([
      ...statements.map((statement) => db.prepare(statement)),
      db.prepare(`INSERT INTO ${quoted} (name) VALUES (?)`).bind(name),
    ]);
  }
}

/** Runs `use` on the local database, migrated; `persistTo` is wrangler dev's --persist-to. */
export async function withLocalD1<T>(persistTo: string | undefined, use: (db: D1Database) => Promise<T>): Promise<T> {
  const { proxy, migrations } = await openLocalD1(persistTo);
  try {
    await applyPendingMigrations(proxy.env.DB, migrations);
    return await use(proxy.env.DB);
  } finally {
    await proxy.dispose();
  }
}

/** Applies the pending migrations to the local database. */
export const migrateLocalD1 = (persistTo: string | undefined) => withLocalD1(persistTo, async () => {});

/**
 * The Worker's D1 database through `wrangler d1 execute` (`target`: `--remote`, or `--local`),
 * shaped like a D1Database's prepare/bind/all and batch, for the scripts that write to a deployed
 * database (import-django, oauth-client). Wrangler's CLI takes no bound values, so values are
 * written into the SQL text as literals.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot, wranglerEnv } from './wrangler.ts';

const wranglerBin = path.join(projectRoot, 'node_modules', 'wrangler', 'bin', 'wrangler.js');

/** A value written into SQL text. */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string') return `'${value.replaceAll("'", "''")}'`;
  throw new Error(`cannot write ${typeof value} into SQL`);
}

const inline = (query: string, values: unknown[]) => {
  let next = 0;
  return query.replace(/\?/g, () => literal(values[next++]));
};

export interface CommandStatement {
  sql: string;
  all<T = Record<string, unknown>>(): Promise<{ results: T[] }>;
}

export interface CommandDatabase {
  prepare(query: string): { bind(...values: unknown[]): CommandStatement };
  batch(statements: CommandStatement[]): Promise<unknown>;
}

export function wranglerDatabase(target: string[]): CommandDatabase {
  const run = (args: string[]) => {
    const result = spawnSync(process.execPath, [wranglerBin, 'd1', 'execute', 'DB', ...target, '--json', ...args], {
      cwd: projectRoot,
      env: wranglerEnv,
      encoding: 'utf8',
      maxBuffer: 256 * 2 ** 20,
    });
    if (result.status !== 0) throw new Error(`wrangler d1 execute failed:\n${result.stdout}${result.stderr}`);
    return JSON.parse(result.stdout) as { results: Record<string, unknown>[] }[];
  };
  return {
    prepare: (query) => ({
      bind: (...values) => {
        const sql = inline(query, values);
        return {
          sql,
          all: async <T>() => ({ results: run(['--command', sql])[0]!.results as T[] }),
        };
      },
    }),
    async batch(statements) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'wrangler-d1-'));
      try {
        const file = path.join(dir, 'batch.sql');
        writeFileSync(file, statements.map((statement) => `${statement.sql};`).join('\n'));
        run(['--file', file]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

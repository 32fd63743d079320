/**
 * `npm start`: everything a fresh clone needs to serve the API locally.
 * 1. writes .dev.vars with a random JWT_SECRET when it has none,
 * 2. applies the D1 migrations to the local database,
 * 3. runs `wrangler dev`, passing on any arguments (`npm start -- --port 9000`).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { applyLocalMigrations, projectRoot, startWrangler } from './wrangler.ts';

function ensureDevSecret(): void {
  const file = path.join(projectRoot, '.dev.vars');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  if (/^\s*JWT_SECRET\s*=\s*\S/m.test(current)) return;
  const line = `JWT_SECRET=${randomBytes(48).toString('base64url')}\n`;
  writeFileSync(file, current === '' || current.endsWith('\n') ? current + line : `${current}\n${line}`, {
    mode: 0o600,
  });
  console.log('Wrote a random development JWT_SECRET to .dev.vars (git ignores it).');
}

/** With `--port N`, links should point at that port too, unless SITE_URL is given explicitly. */
function withSiteUrl(args: string[]): string[] {
  if (args.some((arg) => arg.startsWith('SITE_URL:'))) return args;
  const index = args.findIndex((arg) => arg === '--port' || arg.startsWith('--port='));
  if (index === -1) return args;
  const port = args[index]!.includes('=') ? args[index]!.split('=')[1] : args[index + 1];
  return port ? [...args, '--var', `SITE_URL:http://localhost:${port}`] : args;
}

ensureDevSecret();
applyLocalMigrations();
process.exitCode = await startWrangler(['dev', ...withSiteUrl(process.argv.slice(2))]);

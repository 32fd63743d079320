/**
 * `npm start`: everything a fresh clone needs to serve the API locally.
 * 1. writes .dev.vars with a random JWT_SECRET and OIDC_SIGNING_KEY when it lacks them,
 * 2. checks the settings with the Worker's own parser, and refuses to start on a bad one,
 * 3. checks that the port is free (wrangler would otherwise move to another one while the
 *    links still named the first),
 * 4. applies the D1 migrations to the local database,
 * 5. builds the app (app/ into app/dist, served under /app/),
 * 6. runs `wrangler dev` on that port, passing on any arguments (`npm start -- --port 9000`).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { buildApp } from './build-app.ts';
import { newOidcSigningKey } from './oidc-key.ts';
import { migrateLocalD1 } from './local-d1.ts';
import { projectRoot, startWrangler } from './wrangler.ts';
import { flagValues, settingsProblem, workerEnv } from './worker-settings.ts';

const DEFAULT_PORT = 8787;

/** Development secrets in .dev.vars, each written only when it is missing (git ignores the file). */
function ensureDevSecrets(): void {
  const file = path.join(projectRoot, '.dev.vars');
  const secrets = { JWT_SECRET: () => randomBytes(48).toString('base64url'), OIDC_SIGNING_KEY: newOidcSigningKey };
  for (const [name, generate] of Object.entries(secrets)) {
    const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (new RegExp(`^\\s*${name}\\s*=\\s*\\S`, 'm').test(current)) continue;
    const line = `${name}=${generate()}\n`;
    writeFileSync(file, current === '' || current.endsWith('\n') ? current + line : `${current}\n${line}`, {
      mode: 0o600,
    });
    console.log(`Wrote a random development ${name} to .dev.vars (git ignores it).`);
  }
}

function fail(message: string): never {
  console.error(`npm start: ${message}`);
  process.exit(1);
}

/** Resolves when nothing listens on `port`, on any interface. */
function assertPortFree(port: number): Promise<void> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      fail(
        error.code === 'EADDRINUSE'
          ? `port ${port} is already in use (another npm start?). Stop it, or serve on another port: npm start -- --port ${port + 1}`
          : `cannot listen on port ${port}: ${error.code}`,
      ),
    );
    probe.listen(port, () => probe.close(() => resolve()));
  });
}

/** Links name the port actually served: a local SITE_URL follows the port. */
function withLocalSiteUrl(args: string[], siteUrl: unknown, port: number): string[] {
  if (typeof siteUrl !== 'string') return args;
  try {
    const url = new URL(siteUrl);
    if (
      !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) ||
      Number(url.port || (url.protocol === 'https:' ? 443 : 80)) === port
    )
      return args;
  } catch {
    return args; // the settings check has already refused it
  }
  return [...args, '--var', `SITE_URL:http://localhost:${port}`];
}

const args = process.argv.slice(2);
const portArgument = flagValues(args, '--port')[0];
const port = Number(portArgument ?? DEFAULT_PORT);
if (!Number.isInteger(port) || port < 1 || port > 65535) fail('--port must be a number from 1 to 65535');

ensureDevSecrets();
const env = workerEnv(args, { local: true });
const problem = await settingsProblem(env);
if (problem) fail(`${problem}. Fix it in wrangler.toml (or .dev.vars for secrets) and run npm start again.`);
await assertPortFree(port);
await migrateLocalD1(flagValues(args, '--persist-to')[0]);
buildApp();
const wranglerArgs = portArgument === undefined ? [...args, '--port', String(port)] : args;
process.exitCode = await startWrangler(['dev', ...withLocalSiteUrl(wranglerArgs, env.SITE_URL, port)]);

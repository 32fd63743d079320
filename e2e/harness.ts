/** What the browser checks share: the servers, Chromium, a check counter and console watching. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { projectRoot } from '../scripts/wrangler.ts';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Debian's Chromium, found as `command -v chromium` finds it (CHROMIUM_PATH overrides). */
function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  const found = spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error('chromium is not installed: apt-get install chromium');
  return found;
}

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });

let passed = 0;
let failed = 0;

export function check(name: string, ok: boolean, detail = ''): void {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok ? '' : `: ${detail}`}`);
}

/**
 * Runs `body`, counting a thrown error (a locator that never appeared, say) as a failed check, with
 * what `page` showed then.
 */
export async function checking(name: string, body: () => Promise<void>, page?: Page): Promise<void> {
  try {
    await body();
  } catch (error) {
    const shown = page
      ? await page
          .locator('body')
          .innerText({ timeout: 1000 })
          .catch(() => '')
      : '';
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    check(
      name,
      false,
      `${message}${shown ? `\n  page (${page!.url()}): ${shown.replace(/\s+/g, ' ').slice(0, 400)}` : ''}`,
    );
  }
}

export const summary = () => ({ passed, failed });

/**
 * The API answers the app expects to be 4xx, whose "Failed to load resource" console line is the
 * browser reporting the answer, not an error of the app: a refresh without a session, a refused
 * login or registration, a bad reset link, a missing task, a request with an expired token
 * (which the app retries after a refresh), a refused second step or passkey login, and a passkey
 * removal refused for want of a recent login (which the app retries once the user confirms), and
 * unlinking the only way to log in.
 */
const EXPECTED_REFUSALS =
  /^\/(auth\/session\/(refresh\/)?|api-register\/|auth\/password\/reset\/confirm\/|tasks\/\d+\/|users\/me\/|auth\/mfa\/verify\/|auth\/passkey\/|auth\/passkeys\/\d+\/|auth\/identities\/\d+\/)$/;

/** Console errors and uncaught exceptions of every page of `context`, but for EXPECTED_REFUSALS. */
export function watchConsole(context: BrowserContext): string[] {
  const errors: string[] = [];
  const watch = (page: Page) => {
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const refusal = /Failed to load resource: the server responded with a status of 4\d\d/.test(message.text());
      const url = message.location().url;
      if (refusal && url && EXPECTED_REFUSALS.test(new URL(url).pathname)) return;
      errors.push(`${message.text()} (${url})`);
    });
    page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return errors;
}

/** The app built for another origin, calling the API at `apiBase` (VITE_API_URL). */
export function buildAppFor(apiBase: string): string {
  const outDir = mkdtempSync(path.join(tmpdir(), 'app-elsewhere-'));
  const vite = path.join(projectRoot, 'node_modules/vite/bin/vite.js');
  const result = spawnSync(
    process.execPath,
    [vite, 'build', '--config', 'app/vite.config.ts', '--outDir', outDir, '--logLevel', 'warn'],
    { cwd: projectRoot, env: { ...process.env, VITE_API_URL: apiBase }, stdio: 'inherit' },
  );
  if (result.status !== 0) throw new Error('building the app for another origin failed');
  return outDir;
}

const TYPES = new Map([
  ['.html', 'text/html'],
  ['.js', 'text/javascript'],
  ['.css', 'text/css'],
]);

/** Serves a built app under /app/ as a static host would: a file, or index.html for an app route. */
export function serveApp(dir: string, port: number): Promise<Server> {
  const server = createServer((request, response) => {
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    // Outside /app/: an empty page of this origin, for checks that only need to be on it.
    if (!pathname.startsWith('/app')) return void response.writeHead(200, { 'Content-Type': 'text/html' }).end('');
    const relative = pathname.replace(/^\/app\/?/, '');
    let file = path.join(dir, relative);
    if (!file.startsWith(dir) || relative === '' || !existsSync(file) || !statSync(file).isFile()) {
      file = path.join(dir, 'index.html');
    }
    response.writeHead(200, { 'Content-Type': TYPES.get(path.extname(file)) ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

/**
 * `npm run test:browser`: the API as a single-page app on another origin uses it, in headless
 * Chromium (Debian's /usr/bin/chromium, driven by playwright-core). Starts `npm start` with
 * CORS_ALLOWED_ORIGINS naming the app's origin, serves e2e/spa.html from a listed and from an
 * unlisted origin, and checks what each page could do. Loopback only; bounded in time.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { chromium } from 'playwright-core';
import { freePorts } from '../scripts/free-port.ts';
import { startLocalServer } from '../scripts/local-server.ts';

// Ports the OS says are free now, so that a server already running here is never mistaken for ours.
const [API_PORT, ALLOWED_PORT, OTHER_PORT] = (await freePorts(3)) as [number, number, number];
const page = readFileSync(new URL('./spa.html', import.meta.url));

function serveSpa(port: number): Promise<Server> {
  const server = createServer((_, response) => response.writeHead(200, { 'Content-Type': 'text/html' }).end(page));
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

const apiServer = await startLocalServer(API_PORT, ['--var', `CORS_ALLOWED_ORIGINS:http://localhost:${ALLOWED_PORT}`]);
const spas = await Promise.all([serveSpa(ALLOWED_PORT), serveSpa(OTHER_PORT)]);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

let passed = 0;
let failed = 0;
function check(name: string, ok: boolean, detail: string) {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok ? '' : `: ${detail}`}`);
}

async function runSpa(port: number): Promise<string> {
  const tab = await browser.newPage();
  await tab.goto(`http://localhost:${port}/?api=${encodeURIComponent(apiServer.base)}`);
  await tab.waitForFunction(() => document.getElementById('log')?.textContent?.includes('done'), undefined, {
    timeout: 30_000,
  });
  const log = (await tab.textContent('#log')) ?? '';
  await tab.close();
  return log;
}

try {
  const allowed = await runSpa(ALLOWED_PORT);
  for (const line of [
    'register 201',
    'activate 200',
    'obtain 200',
    'create task 201',
    'me ok 1 task',
    'anonymous create 401 Bearer realm="api"',
  ]) {
    check(`an app on a listed origin: ${line}`, allowed.includes(line), allowed);
  }
  const other = await runSpa(OTHER_PORT);
  check('an app on an unlisted origin cannot read any answer', other.startsWith('error TypeError'), other);
} finally {
  await browser.close();
  for (const spa of spas) spa.close();
  await apiServer.stop();
}
console.log(`browser test: ${passed} of ${passed + failed} checks passed`);
process.exitCode = failed === 0 ? 0 : 1;

/**
 * `npm run test:browser`: the API as a single-page app on another origin uses it, in headless
 * Chromium (Debian's /usr/bin/chromium, driven by playwright-core). Starts `npm start` with
 * CORS_ALLOWED_ORIGINS naming the app's origin, serves e2e/spa.html from a listed and from an
 * unlisted origin, and checks what each page could do. Then a page on the API's own origin uses a
 * browser session (the HttpOnly refresh cookie) through a reload, an access token's expiry and a
 * replayed old cookie. Loopback only; bounded in time.
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

// Access tokens live 5 s here, so that the session test can outlive one.
const ACCESS_TOKEN_SECONDS = 5;
const apiServer = await startLocalServer(API_PORT, [
  '--var',
  `CORS_ALLOWED_ORIGINS:http://localhost:${ALLOWED_PORT}`,
  '--var',
  `JWT_EXPIRATION_DELTA:${ACCESS_TOKEN_SECONDS}s`,
]);
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
  await checkSession();
  await checkCrossOriginSession();
} finally {
  await browser.close();
  for (const spa of spas) spa.close();
  await apiServer.stop();
}
/** An active user, registered and activated through the API as the tutorial does. */
async function activeUser(): Promise<{ username: string; password: string }> {
  const username = `session_${Date.now()}`;
  const password = 'a session passphrase';
  const registered = await fetch(`${apiServer.base}/api-register/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password, email: `${username}@example.com` }),
  });
  const { confirmation_url } = (await registered.json()) as { confirmation_url: string };
  await fetch(confirmation_url.replace(/^https?:\/\/[^/]+/, apiServer.base));
  return { username, password };
}

/**
 * A page of the API's own origin logs in with a session, reloads, outlives its access token and
 * refreshes, never seeing the refresh secret; a replayed old cookie then ends the session.
 */
async function checkSession() {
  const user = await activeUser();
  const context = await browser.newContext();
  const tab = await context.newPage();
  await tab.goto(`${apiServer.base}/`);
  const login = await tab.evaluate(async (credentials) => {
    const response = await fetch('/auth/session/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(credentials),
    });
    const text = await response.text();
    return {
      status: response.status,
      text,
      setCookieReadable: response.headers.has('set-cookie'),
      cookies: document.cookie,
    };
  }, user);
  const [cookie] = (await context.cookies()).filter(({ name }) => name === '__Secure-session');
  check(
    'session login answers 200 with only an access token',
    login.status === 200 && /^\{"token":"[^"]+"\}$/.test(login.text),
    login.text,
  );
  check(
    'the refresh cookie is HttpOnly, Secure, SameSite=Strict, Path=/auth/session/ (Chromium accepts __Secure- on http://localhost)',
    cookie?.httpOnly === true && cookie.secure && cookie.sameSite === 'Strict' && cookie.path === '/auth/session/',
    JSON.stringify(cookie),
  );
  const firstSecret = cookie?.value ?? 'missing';
  check(
    'the page never sees the secret: not in document.cookie, the body or a readable header',
    !login.cookies.includes('__Secure-session') && !login.text.includes(firstSecret) && !login.setCookieReadable,
    JSON.stringify(login),
  );

  // A reload forgets the access token (it lives in memory only); the cookie brings it back.
  await tab.reload();
  const refreshAndUse = () =>
    tab.evaluate(async () => {
      const refreshed = await fetch('/auth/session/refresh/', { method: 'POST' });
      if (refreshed.status !== 200) return { status: refreshed.status, me: 0, token: '' };
      const { token } = (await refreshed.json()) as { token: string };
      const me = await fetch('/users/me/', { headers: { Authorization: `Bearer ${token}` } });
      return { status: refreshed.status, me: me.status, token };
    });
  const afterReload = await refreshAndUse();
  check(
    'after a reload, the cookie refreshes and the new token works',
    afterReload.status === 200 && afterReload.me === 200,
    JSON.stringify(afterReload),
  );
  const rotated = (await context.cookies()).find(({ name }) => name === '__Secure-session')?.value;
  check('the refresh rotated the cookie', rotated !== undefined && rotated !== firstSecret, 'same cookie');

  // Sleep past the access token's expiry: the token is refused, a refresh brings a working one.
  await tab.waitForTimeout((ACCESS_TOKEN_SECONDS + 1.5) * 1000);
  const expired = await tab.evaluate(
    async (token) => (await fetch('/users/me/', { headers: { Authorization: `Bearer ${token}` } })).status,
    afterReload.token,
  );
  const afterSleep = await refreshAndUse();
  check(
    'past the access token expiry, its token is refused and a refresh brings a working one',
    expired === 401 && afterSleep.status === 200 && afterSleep.me === 200,
    `${expired} ${JSON.stringify(afterSleep)}`,
  );

  // A stolen copy of the first cookie, replayed: the whole session ends, the browser's cookie too.
  const replayed = await fetch(`${apiServer.base}/auth/session/refresh/`, {
    method: 'POST',
    headers: { Origin: apiServer.base, Cookie: `__Secure-session=${firstSecret}` },
  });
  const afterReplay = await refreshAndUse();
  check(
    'a replayed old cookie is refused and ends the session in the browser too',
    replayed.status === 401 && afterReplay.status === 401,
    `${replayed.status} ${afterReplay.status}`,
  );
  await context.close();
}

/**
 * The session from an app on a listed origin of the same site (credentials: 'include'): it works
 * there; a page of an unlisted origin can neither read an answer nor refresh the session.
 */
async function checkCrossOriginSession() {
  const user = await activeUser();
  const context = await browser.newContext();
  const call = (port: number, path: string, body?: unknown) =>
    context.newPage().then(async (tab) => {
      await tab.goto(`http://localhost:${port}/?api=${encodeURIComponent(apiServer.base)}`);
      const result = await tab.evaluate(
        async ({ url, body }) => {
          try {
            const response = await fetch(url, {
              method: 'POST',
              credentials: 'include',
              headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
              body: body === undefined ? undefined : JSON.stringify(body),
            });
            return `${response.status}`;
          } catch (error) {
            return (error as Error).name;
          }
        },
        { url: `${apiServer.base}${path}`, body },
      );
      await tab.close();
      return result;
    });
  const login = await call(ALLOWED_PORT, '/auth/session/', user);
  const refreshed = await call(ALLOWED_PORT, '/auth/session/refresh/');
  check(
    'an app on a listed origin logs in and refreshes with the cookie',
    login === '200' && refreshed === '200',
    `${login} ${refreshed}`,
  );
  const sessionCookie = async () =>
    (await context.cookies()).find(({ name }) => name === '__Secure-session')?.value ?? 'missing';
  const before = await sessionCookie();
  const foreign = await call(OTHER_PORT, '/auth/session/refresh/');
  // Had the server taken that request, the cookie would have rotated: the one from before would
  // no longer be current, and refreshing with it would set no new cookie.
  const current = await fetch(`${apiServer.base}/auth/session/refresh/`, {
    method: 'POST',
    headers: { Origin: `http://localhost:${ALLOWED_PORT}`, Cookie: `__Secure-session=${before}` },
  });
  check(
    'a page of an unlisted origin can neither read an answer nor refresh the session',
    foreign === 'TypeError' &&
      (await sessionCookie()) === before &&
      current.status === 200 &&
      current.headers.getSetCookie().length === 1,
    `${foreign} ${current.status} ${current.headers.getSetCookie().length}`,
  );
  await context.close();
}

console.log(`browser test: ${passed} of ${passed + failed} checks passed`);
process.exitCode = failed === 0 ? 0 : 1;

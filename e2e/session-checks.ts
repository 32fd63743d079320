/**
 * The browser session as the API serves it, below any app: the cookie's attributes as Chromium
 * keeps them, a reload, an access token's expiry, a replayed old cookie; and credentials from a
 * listed origin but not from an unlisted one.
 */
import type { Browser } from 'playwright-core';
import { check } from './harness.ts';

/** An active user, registered and activated through the API as the tutorial does. */
export async function activeUser(api: string): Promise<{ username: string; password: string }> {
  const username = `session_${Date.now()}`;
  const password = 'a session passphrase';
  const registered = await fetch(`${api}/api-register/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password, email: `${username}@example.com` }),
  });
  const { confirmation_url } = (await registered.json()) as { confirmation_url: string };
  await fetch(confirmation_url.replace(/^https?:\/\/[^/]+/, api));
  return { username, password };
}

/**
 * A page of the API's own origin logs in with a session, reloads, outlives its access token and
 * refreshes, never seeing the refresh secret; a replayed old cookie then ends the session.
 */
export async function checkSession(browser: Browser, api: string, accessTokenSeconds: number) {
  const user = await activeUser(api);
  const context = await browser.newContext();
  const tab = await context.newPage();
  await tab.goto(`${api}/`);
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
  await tab.waitForTimeout((accessTokenSeconds + 1.5) * 1000);
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
  const replayed = await fetch(`${api}/auth/session/refresh/`, {
    method: 'POST',
    headers: { Origin: api, Cookie: `__Secure-session=${firstSecret}` },
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
export async function checkCrossOriginSession(browser: Browser, api: string, listedPort: number, otherPort: number) {
  const user = await activeUser(api);
  const context = await browser.newContext();
  const call = (port: number, path: string, body?: unknown) =>
    context.newPage().then(async (tab) => {
      await tab.goto(`http://localhost:${port}/blank`);
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
        { url: `${api}${path}`, body },
      );
      await tab.close();
      return result;
    });
  const login = await call(listedPort, '/auth/session/', user);
  const refreshed = await call(listedPort, '/auth/session/refresh/');
  check(
    'an app on a listed origin logs in and refreshes with the cookie',
    login === '200' && refreshed === '200',
    `${login} ${refreshed}`,
  );
  const sessionCookie = async () =>
    (await context.cookies()).find(({ name }) => name === '__Secure-session')?.value ?? 'missing';
  const before = await sessionCookie();
  const foreign = await call(otherPort, '/auth/session/refresh/');
  // Had the server taken that request, the cookie would have rotated: the one from before would
  // no longer be current, and refreshing with it would set no new cookie.
  const current = await fetch(`${api}/auth/session/refresh/`, {
    method: 'POST',
    headers: { Origin: `http://localhost:${listedPort}`, Cookie: `__Secure-session=${before}` },
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

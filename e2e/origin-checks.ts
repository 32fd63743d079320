/**
 * What the origin lets a browser run: /docs from our own files alone, with every other host
 * forbidden; the security headers on the app's pages, a deep link, /docs and a static file; and
 * no Content-Security-Policy violation on any page of the app.
 */
import type { Browser } from 'playwright-core';
import { check, checking, watchConsole } from './harness.ts';

const SECURITY_HEADERS = {
  'content-security-policy':
    /default-src 'self'; script-src 'self';.*frame-ancestors 'none'; base-uri 'none'; form-action 'self'/,
  'x-content-type-options': /^nosniff$/,
  'referrer-policy': /^no-referrer$/,
  'permissions-policy': /camera=\(\)/,
};

/** A browser context in which any host but `base`'s fails, and what it tried. */
async function ownOriginOnly(browser: Browser, base: string) {
  const context = await browser.newContext();
  const origin = new URL(base).origin;
  const elsewhere: string[] = [];
  const failed: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) return route.continue();
    elsewhere.push(url);
    return route.abort('blockedbyclient');
  });
  context.on('requestfailed', (request) => failed.push(`${request.url()}: ${request.failure()?.errorText}`));
  // Counts the page's Content-Security-Policy violations, from before its first script.
  await context.addInitScript(() => {
    (window as unknown as { cspViolations: string[] }).cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) =>
      (window as unknown as { cspViolations: string[] }).cspViolations.push(
        `${event.violatedDirective} ${event.blockedURI}`,
      ),
    );
  });
  return { context, elsewhere, failed, errors: watchConsole(context) };
}

export async function checkOrigin(
  browser: Browser,
  base: string,
  account: { username: string; password: string },
): Promise<void> {
  const { context, elsewhere, failed, errors } = await ownOriginOnly(browser, base);
  const page = await context.newPage();

  await checking(
    '/docs shows the operations from our own files, every other host forbidden',
    async () => {
      const response = await page.goto(`${base}/docs`);
      await page.getByText('List tasks').first().waitFor({ timeout: 20_000 });
      const violations = await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);
      check(
        '/docs shows the operations (List tasks) with no other host, no failed request, no console error, no CSP violation',
        elsewhere.length === 0 && failed.length === 0 && errors.length === 0 && violations.length === 0,
        JSON.stringify({ elsewhere, failed, errors, violations }),
      );
      const headers = response!.headers();
      const missing = Object.entries(SECURITY_HEADERS).filter(([name, pattern]) => !pattern.test(headers[name] ?? ''));
      check('/docs carries the security headers', missing.length === 0, JSON.stringify(missing.map(([name]) => name)));
    },
    page,
  );

  await checking(
    "'Try it out' calls the API on the same origin, with a bearer token",
    async () => {
      const login = await page.request.post(`${base}/api-auth/`, { data: account });
      const { token } = (await login.json()) as { token: string };
      await page.locator('.btn.authorize').first().click();
      const bearer = page.locator('.modal-ux .auth-container').first(); // bearerAuth, listed first
      await bearer.locator('input').fill(token);
      await bearer.locator('button.authorize').click();
      await page.locator('.modal-ux button.btn-done').first().click();
      const operation = page.locator('.opblock-get', { has: page.locator('[data-path="/users/me/"]') }).first();
      await operation.locator('.opblock-summary').click();
      await operation.getByRole('button', { name: 'Try it out' }).click();
      const answer = page.waitForResponse((response) => new URL(response.url()).pathname === '/users/me/');
      await operation.getByRole('button', { name: 'Execute' }).click();
      const response = await answer;
      check(
        "'Try it out' with Authorize calls GET /users/me/ on the same origin as Bearer",
        response.status() === 200 && response.request().headers().authorization === `Bearer ${token}`,
        `${response.status()} ${response.request().headers().authorization?.slice(0, 20)}`,
      );
      check(
        '... with no other host, failed request or console error',
        elsewhere.length + failed.length + errors.length === 0,
        JSON.stringify({ elsewhere, failed, errors }),
      );
    },
    page,
  );

  await checking(
    'the security headers on the app, a deep link and a static file',
    async () => {
      for (const path of ['/app/', '/app/tasks/1', '/app/login', '/app/docs/init.js']) {
        const response = await page.goto(`${base}${path}`);
        const headers = response!.headers();
        const missing = Object.entries(SECURITY_HEADERS).filter(
          ([name, pattern]) => !pattern.test(headers[name] ?? ''),
        );
        check(`${path} carries the security headers`, missing.length === 0, JSON.stringify(missing.map(([n]) => n)));
      }
    },
    page,
  );

  await checking(
    'no Content-Security-Policy violation on any page of the app',
    async () => {
      const pages = [
        '/app/tasks',
        '/app/login',
        '/app/register',
        '/app/resend',
        '/app/password-reset',
        '/app/users',
        '/app/nowhere',
      ];
      const seen: string[] = [];
      for (const path of pages) {
        await page.goto(`${base}${path}`);
        await page.locator('h1').first().waitFor();
        const violations = await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);
        seen.push(...violations.map((v) => `${path}: ${v}`));
      }
      check(
        'no CSP violation on the app pages',
        seen.length === 0 && elsewhere.length === 0,
        JSON.stringify({ seen, elsewhere }),
      );
    },
    page,
  );
  await context.close();
}

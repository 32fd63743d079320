/**
 * Sign in with another provider, in Chromium: a server of its own with AUTH_PROVIDERS naming a real
 * OpenID Connect provider on a loopback port (panva's oidc-provider, as in the workerd tests); the
 * login page's button, the provider's login and consent pages, and back in the app logged in.
 */
import type { Browser } from 'playwright-core';
import { startLocalServer } from '../scripts/local-server.ts';
import { CLIENT } from '../test/external/provider-client.ts';
import { startTestProviders } from '../test/external/provider-setup.ts';
import { check, checking, watchConsole } from './harness.ts';

export async function checkExternalSignIn(browser: Browser, port: number, state: string) {
  const base = `http://localhost:${port}`;
  const providers = await startTestProviders(base);
  const server = await startLocalServer(port, [
    '--persist-to',
    state,
    '--var',
    `AUTH_PROVIDERS:${JSON.stringify([
      { id: 'local', name: 'Local ID', type: 'oidc', issuer: providers.issuer, client_id: CLIENT.client_id },
    ])}`,
    '--var',
    `AUTH_PROVIDER_LOCAL_SECRET:${CLIENT.client_secret}`,
  ]);
  const context = await browser.newContext();
  const errors = watchConsole(context);
  const page = await context.newPage();
  const login = `fed_${Date.now().toString(36)}`;
  try {
    await checking(
      'the login page signs in through another provider: its button, its login and consent, then the app logged in',
      async () => {
        await page.goto(`${base}/app/login`);
        await page.getByRole('button', { name: 'Sign in with Local ID' }).click();
        await page.waitForURL(`${providers.issuer}/**`);
        await page.getByPlaceholder('Enter any login').fill(login);
        await page.getByPlaceholder('and password').fill('anything');
        await page.getByRole('button', { name: 'Sign-in' }).click();
        await page.getByRole('button', { name: 'Continue' }).click();
        await page.waitForURL(`${base}/app/tasks`);
        await page.getByRole('button', { name: 'Log out' }).waitFor();
        const who = await page.locator('.who').innerText();
        check('back in the app, logged in as the provider’s user', who === login, who);
      },
      page,
    );
    await checking(
      'the Security page lists the linked account, and refuses to unlink the only way in',
      async () => {
        await page.goto(`${base}/app/security`);
        const linked = page.getByRole('list', { name: 'Your linked accounts' });
        check(
          'Linked accounts shows Local ID',
          (await linked.innerText()).includes('Local ID'),
          await linked.innerText(),
        );
        await linked.getByRole('button', { name: 'Unlink' }).click();
        const alert = await page.getByRole('alert').innerText();
        check('unlinking the only way to log in is refused with the reason', /only way to log in/.test(alert), alert);
      },
      page,
    );
    await checking(
      'a refused sign-in comes back to the login page with a message',
      async () => {
        await page.getByRole('button', { name: 'Log out' }).click();
        await page.goto(`${base}/auth/external/local/callback?state=forged&code=x`);
        await page.waitForURL(/\/app\/login\?external_error=state/);
        const alert = await page.getByRole('alert').innerText();
        check('the login page says the sign-in took too long or came from elsewhere', /try again/.test(alert), alert);
      },
      page,
    );
    // The provider's own pages load web fonts and a favicon this machine cannot reach: only ours count.
    const ours = errors.filter((error) => error.includes(`(${base}`) || error.startsWith('uncaught'));
    check(
      'no console errors on our pages during the sign-in through another provider',
      ours.length === 0,
      ours.join('\n'),
    );
  } finally {
    await context.close();
    await server.stop();
    providers.close();
  }
}

/**
 * An email change with mail delivery on (ACTIVATION_DELIVERY=email, a server of its own): the
 * profile keeps the address and says a link went to the new one; the mailed link's page confirms
 * it, and the profile then shows the new address, verified.
 */
import type { Browser } from 'playwright-core';
import { logIn, mailedLink } from './app-checks.ts';
import { check, checking, watchConsole } from './harness.ts';

/** A user registered by mail and activated with the mailed link. */
async function mailedUser(base: string) {
  const username = `mailed_${Date.now()}`;
  const account = { username, password: 'a mailed passphrase', email: `${username}@example.com` };
  await fetch(`${base}/api-register/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(account),
  });
  const token = mailedLink(base, account.email, '/app/activate/').split('/').at(-1);
  const activated = await fetch(`${base}/api-activate/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  if (!activated.ok) throw new Error(`activation failed: ${activated.status}`);
  return account;
}

export async function checkEmailChange(browser: Browser, base: string): Promise<void> {
  const context = await browser.newContext();
  const errors = watchConsole(context);
  const page = await context.newPage();
  await checking(
    'an email change waits for the link mailed to the new address, whose page confirms it',
    async () => {
      const account = await mailedUser(base);
      const next = `${account.username}.moved@example.com`;
      await logIn(page, base, account);
      await page.getByRole('link', { name: 'Profile' }).click();
      await page.getByLabel('Email').fill(next);
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByText('Saved.').waitFor();
      const pending = (await page.getByRole('status').filter({ hasText: 'A link to confirm' }).textContent()) ?? '';
      const kept = await page.getByLabel('Email').inputValue();
      await page.goto(mailedLink(base, next, '/app/email/confirm/'));
      await page.getByRole('button', { name: 'Confirm address' }).click();
      await page.getByRole('status').filter({ hasText: 'Your email address is confirmed.' }).waitFor();
      await page.getByRole('link', { name: 'Profile' }).first().click();
      await page.getByLabel('Email').waitFor();
      await page.waitForFunction(() => (document.querySelector('input[type=email]') as HTMLInputElement)?.value !== '');
      check(
        'an email change waits for the link mailed to the new address, whose page confirms it',
        pending.includes(next) &&
          kept === account.email &&
          (await page.getByLabel('Email').inputValue()) === next &&
          (await page.getByText('This address is not verified').count()) === 0,
        JSON.stringify({ pending, kept }),
      );
    },
    page,
  );
  check('no console errors on the email change', errors.length === 0, errors.join(' | '));
  await context.close();
}

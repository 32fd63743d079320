/**
 * The audit log in Chromium: a user's "Recent activity" on the Security page (their logins, a
 * failed attempt, where from), and the staff Audit page (filters, an account's events, pages),
 * which a user who is not staff cannot open.
 */
import type { Browser } from 'playwright-core';
import { logIn } from './app-checks.ts';
import { check, checking, watchConsole } from './harness.ts';

interface Account {
  username: string;
  password: string;
}

/** A failed login through the API: the owner's activity lists it. */
const failLogin = (base: string, username: string) =>
  fetch(`${base}/auth/obtain_token/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password: 'not the password' }),
  });

export async function checkActivity(browser: Browser, base: string, account: Account): Promise<void> {
  const context = await browser.newContext();
  const errors = watchConsole(context);
  const page = await context.newPage();
  await checking(
    'Recent activity on the Security page lists my logins and a failed attempt, with the browser',
    async () => {
      await failLogin(base, account.username);
      await logIn(page, base, account);
      await page.getByRole('link', { name: 'Security' }).click();
      const activity = page
        .getByRole('region', { name: 'Recent activity' })
        .getByRole('list', { name: 'Recent activity' });
      await activity.getByRole('listitem').nth(1).waitFor();
      const rows = await activity.getByRole('listitem').allInnerTexts();
      check(
        'Recent activity on the Security page lists my logins and a failed attempt, with the browser',
        rows[0]?.includes('Logged in with password') === true &&
          rows[0].includes('Chrome on Linux') &&
          rows.some((row) => row.startsWith('Failed login')),
        JSON.stringify(rows),
      );
    },
    page,
  );
  await checking(
    'the Audit page is for staff only',
    async () => {
      await page.goto(`${base}/app/audit`);
      await page.getByRole('heading', { name: 'Tasks' }).waitFor();
      check(
        'the Audit page is for staff only: a user is sent to the tasks, with no Audit link',
        (await page.getByRole('link', { name: 'Audit' }).count()) === 0,
        page.url(),
      );
    },
    page,
  );
  check('no console errors on Recent activity', errors.length === 0, errors.join(' | '));
  await context.close();
}

/** Staff read the audit log: the staff actions of checkStaff on `user`, that account's events, older pages. */
export async function checkAudit(browser: Browser, base: string, staff: Account, user: Account): Promise<void> {
  const context = await browser.newContext();
  const errors = watchConsole(context);
  const page = await context.newPage();
  const table = page.getByRole('table', { name: 'Audit events' });
  await checking(
    'the Audit page filters by kind and by account, and pages back in time',
    async () => {
      await logIn(page, base, staff);
      await page.getByRole('link', { name: 'Audit' }).click();
      await table.waitFor();
      await page.getByLabel('Kind').selectOption('staff.user_changed');
      await table.getByRole('row').filter({ hasText: 'staff.user_changed' }).first().waitFor();
      const kinds = await table.locator('tbody tr td:nth-child(3) code').allInnerTexts();
      const mine = table.getByRole('row').filter({ hasText: user.username });
      const changes = await mine.allInnerTexts();
      await mine
        .first()
        .getByRole('link', { name: `Only events of ${user.username}` })
        .click();
      await page.waitForURL(/subject=\d+/);
      await page.getByLabel('Kind').selectOption('');
      await page.waitForURL((url) => !url.searchParams.has('kind'));
      await table.waitFor();
      const accounts = await table.locator('tbody tr td:nth-child(2)').allInnerTexts();
      const ownKinds = await table.locator('tbody tr td:nth-child(3) code').allInnerTexts();
      check(
        'the Audit page filters by kind and by account (staff actions with who did them)',
        kinds.length > 0 &&
          kinds.every((kind) => kind === 'staff.user_changed') &&
          changes.some((row) => row.includes('Account deactivated') && row.includes(staff.username)) &&
          accounts.length > 0 &&
          accounts.every((name) => name.trim() === user.username) &&
          ownKinds.includes('login.succeeded') &&
          ownKinds.includes('user.registered'),
        JSON.stringify({ kinds, changes, accounts, ownKinds }),
      );
      // Enough events for a second page: staff take the user's staff rights and give them back.
      await page.getByRole('link', { name: 'Users' }).click();
      for (let i = 0; i < 13; i++) {
        await page.getByRole('button', { name: `Demote ${user.username}` }).click();
        await page.getByRole('button', { name: `Promote ${user.username}` }).click();
        await page.getByRole('button', { name: `Demote ${user.username}` }).waitFor();
      }
      await page.goto(`${base}/app/audit`);
      await table.waitFor();
      const first = await table.locator('tbody tr').allInnerTexts();
      await page.getByRole('button', { name: 'Older' }).click();
      await page.waitForURL(/cursor=/);
      await table.waitFor();
      const older = await table.locator('tbody tr').allInnerTexts();
      await page.getByRole('button', { name: 'Newer' }).click();
      await page.waitForURL(/cursor=/);
      await table.waitFor();
      const back = await table.locator('tbody tr').allInnerTexts();
      check(
        'the Audit page pages to older events and back',
        older.length > 0 && older.every((row) => !first.includes(row)) && back.join() === first.join(),
        JSON.stringify({ first, older, back }),
      );
    },
    page,
  );
  check('no console errors on the Audit page', errors.length === 0, errors.join(' | '));
  await context.close();
}

/**
 * The app in Chromium, as its users use it: register, activate through the confirm page, log in,
 * add, edit and delete a task, reload, outlive the access token, log out; errors in alerts;
 * deep links; a staff user deactivating someone; a narrow screen and the keyboard; and the same
 * build hosted on another origin.
 */
import { spawnSync } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { projectRoot } from '../scripts/wrangler.ts';
import { check, checking, watchConsole } from './harness.ts';

interface Account {
  username: string;
  password: string;
}

const unique = (prefix: string) => `${prefix}_${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

/** What the API answers to these credentials at obtain (200, or 400 for an account that cannot log in). */
async function obtain(base: string, { username, password }: Account): Promise<number> {
  const response = await fetch(`${base}/auth/obtain_token/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  return response.status;
}

export async function logIn(page: Page, base: string, { username, password }: Account) {
  await page.goto(`${base}/app/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  // Enter submits the form, as a keyboard user would.
  await page.getByLabel('Password').press('Enter');
  await page.getByRole('button', { name: 'Log out' }).waitFor();
}

/** The whole journey of a new user on the app of the API's own origin; answers the account. */
export async function checkJourney(browser: Browser, base: string, accessTokenSeconds: number): Promise<Account> {
  const context = await browser.newContext();
  const errors = watchConsole(context);
  const page = await context.newPage();
  const account = { username: unique('app'), password: 'an app passphrase' };

  await checking(
    'register shows the API field errors next to the fields',
    async () => {
      await page.goto(`${base}/app/register`);
      await page.getByLabel('Username').fill(account.username);
      await page.getByLabel('Email').fill(`${account.username}@example.com`);
      await page.getByLabel('Password').fill('password');
      await page.getByRole('button', { name: 'Register' }).click();
      const message = page.getByText('This password is too common.');
      await message.waitFor();
      const describedBy = await page.getByLabel('Password').getAttribute('aria-describedby');
      check(
        'register shows the API field errors next to the fields',
        describedBy !== null && (await page.locator(`#${describedBy}`).textContent())?.includes('too common') === true,
        String(describedBy),
      );
    },
    page,
  );

  await checking(
    'register, then activate through the confirm page',
    async () => {
      await page.getByLabel('Password').fill(account.password);
      await page.getByRole('button', { name: 'Register' }).click();
      await page.getByRole('link', { name: 'Activate your account' }).click();
      await page.getByRole('button', { name: 'Activate' }).waitFor();
      check(
        'the confirm page activates nothing by itself: the account cannot log in yet',
        (await obtain(base, account)) === 400,
      );
      await page.getByRole('button', { name: 'Activate' }).click();
      await page.getByText('Your account is active.').waitFor();
      check('register, then activate through the confirm page', page.url().includes('/app/activate/'));
    },
    page,
  );

  await checking(
    'a wrong password shows the API message in an alert',
    async () => {
      await page.getByRole('link', { name: 'Continue to log in' }).click();
      await page.getByLabel('Username').fill(account.username);
      await page.getByLabel('Password').fill('not the password');
      await page.getByRole('button', { name: 'Log in' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      check(
        'a wrong password shows the API message in an alert',
        (await alert.textContent())?.trim() === 'Unable to log in with provided credentials.',
        String(await alert.textContent()),
      );
    },
    page,
  );

  await checking(
    'log in with the keyboard',
    async () => {
      await logIn(page, base, account);
      check('log in with the keyboard (Enter submits)', page.url().endsWith('/app/tasks'), page.url());
    },
    page,
  );

  const title = unique('task');
  await checking(
    'add a task',
    async () => {
      await page.getByLabel('Title').fill(title);
      await page.getByLabel('Due').fill('2030-01-01T09:00');
      await page.getByRole('button', { name: 'Add task' }).click();
      await page.getByRole('status').getByRole('link', { name: title }).waitFor();
      check('add a task: the page links to it', true);
    },
    page,
  );

  await checking(
    'edit the task',
    async () => {
      await page.getByRole('status').getByRole('link', { name: title }).click();
      // The list's own Title field stays until the task's page has loaded.
      await page.getByRole('heading', { name: title, level: 1 }).waitFor();
      await page.getByLabel('Title').fill(`${title} edited`);
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('heading', { name: `${title} edited` }).waitFor();
      check('edit the task: the new title shows', true);
    },
    page,
  );

  await checking(
    'a reload keeps the user logged in',
    async () => {
      await page.reload();
      await page.getByRole('heading', { name: `${title} edited` }).waitFor();
      check(
        'a reload keeps the user logged in (the session cookie restores the token)',
        (await page.getByRole('button', { name: 'Log out' }).count()) === 1 &&
          (await page.getByRole('button', { name: 'Delete' }).count()) === 1,
      );
    },
    page,
  );

  await checking(
    'past the access token lifetime, delete still works',
    async () => {
      // Hold every refresh until the access token has expired, so that the delete meets a 401.
      let release = () => {};
      const released = new Promise<void>((resolve) => (release = resolve));
      await page.route('**/auth/session/refresh/', async (route) => {
        await released;
        await route.continue();
      });
      const refused: number[] = [];
      page.on('response', (response) => {
        if (response.request().method() === 'DELETE' && response.status() === 401) refused.push(response.status());
      });
      await page.waitForTimeout((accessTokenSeconds + 1) * 1000);
      await page.getByRole('button', { name: 'Delete' }).click();
      await page.waitForTimeout(500);
      release();
      await page.getByRole('heading', { name: 'Tasks', level: 1 }).waitFor();
      await page.getByText('Loading…').waitFor({ state: 'detached' });
      await page.unroute('**/auth/session/refresh/');
      check(
        'an expired token is refreshed and the request retried once: the delete goes through',
        refused.length === 1 && (await page.getByRole('link', { name: `${title} edited` }).count()) === 0,
        `401s: ${refused.length}`,
      );
    },
    page,
  );

  const stored = await page.evaluate(() => ({
    local: Object.keys(localStorage),
    session: Object.keys(sessionStorage),
    values: [...Object.values(localStorage), ...Object.values(sessionStorage)].join(' '),
  }));
  // (vue-router keeps scroll positions in sessionStorage; no token may be anywhere there.)
  check(
    'no token in localStorage or sessionStorage',
    stored.local.length === 0 && !/eyJ|token/i.test(`${stored.session.join(' ')} ${stored.values}`),
    JSON.stringify(stored),
  );

  await checking(
    'narrow screen and focus',
    async () => {
      await page.setViewportSize({ width: 360, height: 740 });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      await page.keyboard.press('Tab');
      const outline = await page.evaluate(() => {
        const focused = document.activeElement as HTMLElement | null;
        return focused ? `${getComputedStyle(focused).outlineStyle} ${getComputedStyle(focused).outlineWidth}` : 'none';
      });
      // Our own focus ring (3px solid), not the browser's default one.
      check(
        'usable at 360 px (no sideways scrolling), focus visible',
        overflow <= 0 && outline === 'solid 3px',
        `${overflow} ${outline}`,
      );
    },
    page,
  );

  await checking(
    'log out',
    async () => {
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.getByRole('heading', { name: 'Log in' }).waitFor();
      await page.reload();
      await page.getByRole('link', { name: 'Log in' }).waitFor();
      check('log out: a reload stays logged out', (await page.getByRole('button', { name: 'Log out' }).count()) === 0);
    },
    page,
  );

  await checking(
    'deep links load the app',
    async () => {
      await page.goto(`${base}/app/password-reset/not.a.token`);
      await page.getByLabel('New password').fill('a brand new passphrase');
      await page.getByRole('button', { name: 'Save' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      await page.goto(`${base}/app/tasks/999999`);
      await page.getByRole('alert').waitFor();
      check(
        'deep links load the app (a reset link with a bad token, a missing task) and say what is wrong',
        (await page.getByRole('alert').textContent())?.includes('Not found.') === true,
      );
    },
    page,
  );

  check('no console errors in the journey', errors.length === 0, errors.join(' | '));
  await context.close();
  return account;
}

/** A staff user deactivates a logged-in user, whose session then no longer refreshes. */
export async function checkStaff(browser: Browser, base: string, staff: Account, user: Account): Promise<void> {
  const userContext = await browser.newContext();
  const staffContext = await browser.newContext();
  const errors = [...[userContext, staffContext].map(watchConsole)];
  await checking('a staff user deactivates a user, who can then no longer refresh', async () => {
    const userPage = await userContext.newPage();
    await logIn(userPage, base, user);
    const staffPage = await staffContext.newPage();
    await logIn(staffPage, base, staff);
    await staffPage.getByRole('link', { name: 'Users' }).click();
    await staffPage.getByRole('button', { name: `Deactivate ${user.username}` }).click();
    await staffPage.getByRole('button', { name: `Reactivate ${user.username}` }).waitFor();
    await userPage.reload();
    await userPage.getByRole('link', { name: 'Log in' }).waitFor();
    check(
      'a staff user deactivates a user, who can then no longer refresh',
      (await userPage.getByRole('button', { name: 'Log out' }).count()) === 0,
    );
  });
  await checking('staff reactivate and promote', async () => {
    const staffPage = staffContext.pages()[0]!;
    await staffPage.getByRole('button', { name: `Reactivate ${user.username}` }).click();
    await staffPage.getByRole('button', { name: `Deactivate ${user.username}` }).waitFor();
    await staffPage.getByRole('button', { name: `Promote ${user.username}` }).click();
    await staffPage.getByRole('button', { name: `Demote ${user.username}` }).waitFor();
    const row = staffPage.getByRole('row', { name: new RegExp(user.username) });
    check('staff reactivate and promote a user', (await row.textContent())?.includes('active, staff') === true);
  });
  check('no console errors on the staff pages', errors.flat().length === 0, errors.flat().join(' | '));
  await userContext.close();
  await staffContext.close();
}

/** The same build hosted on another origin (VITE_API_URL): works where CORS lists it, not elsewhere. */
export async function checkElsewhere(browser: Browser, listed: string, unlisted: string, account: Account) {
  const context = await browser.newContext();
  const errors = watchConsole(context);
  await checking('the app hosted on a listed origin logs in and adds a task', async () => {
    const page = await context.newPage();
    await logIn(page, listed, account);
    const title = unique('elsewhere');
    await page.getByLabel('Title').fill(title);
    await page.getByLabel('Due').fill('2031-05-06T07:08');
    await page.getByRole('button', { name: 'Add task' }).click();
    await page.getByRole('status').getByRole('link', { name: title }).waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Log out' }).waitFor();
    check('the app hosted on a listed origin logs in, adds a task and survives a reload', true);
  });
  check('no console errors on the listed origin', errors.length === 0, errors.join(' | '));
  await context.close();

  // Not watched for console errors: the browser logging the CORS refusal is what this checks.
  const other = await browser.newContext();
  await checking('the app hosted on an unlisted origin cannot reach the API', async () => {
    const page = await other.newPage();
    await page.goto(`${unlisted}/app/login`);
    await page.getByLabel('Username').fill(account.username);
    await page.getByLabel('Password').fill(account.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    check(
      'the app hosted on an unlisted origin cannot reach the API, and says so',
      (await alert.textContent())?.includes('cannot be reached') === true,
      String(await alert.textContent()),
    );
  });
  await other.close();
}

/** The newest link under `path` that the local outbox holds for `address` (scripts/outbox.ts). */
export function mailedLink(base: string, address: string, path: string): string {
  const result = spawnSync(process.execPath, ['scripts/outbox.ts', base, address, path], {
    cwd: projectRoot,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`no mail to ${address}: ${result.stderr}`);
  return result.stdout.trim();
}

/**
 * The account pages: profile (email, password), verifying the new address by mail, a password
 * reset by mail, a new activation link.
 */
export async function checkAccount(browser: Browser, base: string, account: Account): Promise<void> {
  const context = await browser.newContext();
  const errors = watchConsole(context);
  const page = await context.newPage();
  const email = `${account.username}.new@example.com`;
  let password = account.password;

  await checking(
    'the profile changes the email and the password',
    async () => {
      await logIn(page, base, account);
      await page.getByRole('link', { name: 'Profile' }).click();
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Current password').fill(password);
      password = 'a changed passphrase';
      await page.getByLabel('New password').fill(password);
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByText('Saved.').waitFor();
      await page.reload();
      await page.getByLabel('Email').waitFor();
      check(
        'the profile changes the email and the password, and the user stays logged in through a reload',
        (await page.getByLabel('Email').inputValue()) === email &&
          (await obtain(base, { ...account, password })) === 200 &&
          (await obtain(base, account)) === 400,
      );
    },
    page,
  );

  await checking(
    'the profile verifies the new address through the link mailed to it',
    async () => {
      // The tutorial mode changes the address at once, unverified: resets would not reach it.
      await page.getByText('This address is not verified').waitFor();
      await page.getByRole('button', { name: 'Verify this address' }).click();
      await page.getByRole('status').filter({ hasText: 'on its way' }).waitFor();
      await page.goto(mailedLink(base, email, '/app/email/confirm/'));
      await page.getByRole('button', { name: 'Confirm address' }).click();
      await page.getByRole('status').filter({ hasText: 'Your email address is confirmed.' }).waitFor();
      await page.getByRole('link', { name: 'Profile' }).first().click();
      await page.getByLabel('Email').waitFor();
      check(
        'the profile verifies the new address through the link mailed to it',
        (await page.getByText('This address is not verified').count()) === 0,
      );
    },
    page,
  );

  await checking(
    'a password reset by mail',
    async () => {
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.getByRole('link', { name: 'Forgot your password?' }).click();
      await page.getByLabel('Email').fill(email);
      await page.getByRole('button', { name: 'Send link' }).click();
      await page.getByRole('status').waitFor();
      const link = mailedLink(base, email, '/app/password-reset/');
      await page.goto(link);
      password = 'a reset passphrase';
      await page.getByLabel('New password').fill(password);
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('link', { name: 'Continue to log in' }).click();
      await logIn(page, base, { ...account, password });
      check('a password reset by mail: the mailed link sets the password, which logs in', true);
    },
    page,
  );

  await checking(
    'the resend page',
    async () => {
      await page.goto(`${base}/app/resend`);
      await page.getByLabel('Email').fill(email);
      await page.getByRole('button', { name: 'Send link' }).click();
      const status = page.getByRole('status');
      await status.waitFor();
      check('the resend page answers the same for any address', (await status.textContent())?.includes('If') === true);
    },
    page,
  );

  check('no console errors on the account pages', errors.length === 0, errors.join(' | '));
  await context.close();
}

/** The task list: "Mine only", pages of 10, ordering by title; /tasks/ itself stays the JSON API. */
export async function checkList(browser: Browser, base: string, account: Account): Promise<void> {
  const context = await browser.newContext();
  const errors = watchConsole(context);
  const page = await context.newPage();
  await checking(
    'the task list filters, pages and orders',
    async () => {
      await logIn(page, base, account);
      const prefix = unique('list');
      for (const letter of 'KJIHGFEDCBA') {
        await page.getByLabel('Title').fill(`${prefix} ${letter}`);
        await page.getByLabel('Due').fill('2032-02-02T10:00');
        await page.getByRole('button', { name: 'Add task' }).click();
        await page
          .getByRole('status')
          .getByRole('link', { name: `${prefix} ${letter}` })
          .waitFor();
      }
      await page.getByLabel('Mine only').check();
      await page.getByLabel('Order by').selectOption('title');
      await page
        .locator('.tasks a')
        .first()
        .filter({ hasText: `${prefix} A` })
        .waitFor();
      const firstPage = await page.locator('.tasks a').allTextContents();
      await page.getByRole('button', { name: 'Next' }).click();
      await page
        .locator('.tasks a')
        .first()
        .filter({ hasText: `${prefix} K` })
        .waitFor();
      const secondPage = await page.locator('.tasks a').allTextContents();
      const secondUrl = page.url();
      await page.getByRole('button', { name: 'Previous' }).click();
      await page
        .locator('.tasks a')
        .first()
        .filter({ hasText: `${prefix} A` })
        .waitFor();
      const backAgain = await page.locator('.tasks a').allTextContents();
      check(
        'the task list shows mine only, by title, 10 a page, with cursor links both ways',
        firstPage.length === 10 &&
          firstPage[0] === `${prefix} A` &&
          secondPage.length === 1 &&
          secondUrl.includes('cursor=') &&
          backAgain.join() === firstPage.join(),
        `${firstPage.join(',')} / ${secondPage.join(',')}`,
      );
    },
    page,
  );
  await checking(
    '/tasks/ stays the JSON API',
    async () => {
      const response = await page.goto(`${base}/tasks/`);
      check(
        'a browser opening /tasks/ gets the JSON API, not the app',
        response?.headers()['content-type']?.startsWith('application/json') === true,
        String(response?.headers()['content-type']),
      );
    },
    page,
  );
  check('no console errors on the task list', errors.length === 0, errors.join(' | '));
  await context.close();
}

/**
 * The app in Chromium, as its users use it: register, activate through the confirm page, log in,
 * add, edit and delete a task, reload, outlive the access token, log out; errors in alerts;
 * deep links; a staff user deactivating someone; a narrow screen and the keyboard; and the same
 * build hosted on another origin.
 */
import type { Browser, Page } from 'playwright-core';
import { check, checking, watchConsole } from './harness.ts';

interface Account {
  username: string;
  password: string;
}

const unique = (prefix: string) => `${prefix}_${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

async function logIn(page: Page, base: string, { username, password }: Account) {
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

  await checking('register shows the API field errors next to the fields', async () => {
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
  });

  await checking('register, then activate through the confirm page', async () => {
    await page.getByLabel('Password').fill(account.password);
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByRole('link', { name: 'Activate your account' }).click();
    check(
      'the confirm page activates nothing by itself',
      (await page.getByRole('button', { name: 'Activate' }).count()) === 1,
    );
    await page.getByRole('button', { name: 'Activate' }).click();
    await page.getByText('Your account is active.').waitFor();
    check('register, then activate through the confirm page', page.url().includes('/app/activate/'));
  });

  await checking('a wrong password shows the API message in an alert', async () => {
    await page.getByRole('link', { name: 'Log in' }).first().click();
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
  });

  await checking('log in with the keyboard', async () => {
    await logIn(page, base, account);
    check('log in with the keyboard (Enter submits)', page.url().endsWith('/app/tasks'), page.url());
  });

  const title = unique('task');
  await checking('add a task', async () => {
    await page.getByLabel('Title').fill(title);
    await page.getByLabel('Due').fill('2030-01-01T09:00');
    await page.getByRole('button', { name: 'Add task' }).click();
    await page.getByRole('link', { name: title }).waitFor();
    check('add a task: it is listed', true);
  });

  await checking('edit the task', async () => {
    await page.getByRole('link', { name: title }).click();
    // The list's own Title field stays until the task's page has loaded.
    await page.getByRole('heading', { name: title, level: 1 }).waitFor();
    await page.getByLabel('Title').fill(`${title} edited`);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: `${title} edited` }).waitFor();
    check('edit the task: the new title shows', true);
  });

  await checking('a reload keeps the user logged in', async () => {
    await page.reload();
    await page.getByRole('heading', { name: `${title} edited` }).waitFor();
    check(
      'a reload keeps the user logged in (the session cookie restores the token)',
      (await page.getByRole('button', { name: 'Log out' }).count()) === 1 &&
        (await page.getByRole('button', { name: 'Delete' }).count()) === 1,
    );
  });

  await checking('past the access token lifetime, delete still works', async () => {
    await page.waitForTimeout((accessTokenSeconds + 1) * 1000);
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('heading', { name: 'Tasks' }).waitFor();
    await page.getByText('Loading…').waitFor({ state: 'detached' });
    check(
      'past the access token lifetime, delete still works and the task is gone',
      (await page.getByRole('link', { name: `${title} edited` }).count()) === 0,
    );
  });

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

  await checking('narrow screen and focus', async () => {
    await page.setViewportSize({ width: 360, height: 740 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await page.keyboard.press('Tab');
    const outline = await page.evaluate(() => {
      const focused = document.activeElement as HTMLElement | null;
      return focused ? getComputedStyle(focused).outlineStyle : 'none';
    });
    check(
      'usable at 360 px (no sideways scrolling), focus visible',
      overflow <= 0 && outline !== 'none',
      `${overflow} ${outline}`,
    );
  });

  await checking('log out', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    await page.reload();
    await page.getByRole('link', { name: 'Log in' }).first().waitFor();
    check('log out: a reload stays logged out', (await page.getByRole('button', { name: 'Log out' }).count()) === 0);
  });

  await checking('deep links load the app', async () => {
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
  });

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
    await userPage.getByRole('link', { name: 'Log in' }).first().waitFor();
    check(
      'a staff user deactivates a user, who can then no longer refresh',
      (await userPage.getByRole('button', { name: 'Log out' }).count()) === 0,
    );
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
    await page.getByRole('link', { name: title }).waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Log out' }).waitFor();
    check('the app hosted on a listed origin logs in, adds a task and survives a reload', true);
  });
  check('no console errors on the listed origin', errors.length === 0, errors.join(' | '));
  await context.close();

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

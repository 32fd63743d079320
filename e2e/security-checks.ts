/**
 * The Security page in Chromium with a virtual authenticator (CDP WebAuthn: CTAP2, built in,
 * resident keys, user verification) standing in for a passkey device, and `oathtool` for the
 * authenticator app: add and rename a passkey, sign in with it and no username, use it after a
 * password, enrol TOTP from the page, log in with a recovery code and with a code, confirm a
 * change with the passkey once the login is no longer recent, remove both.
 */
import { spawnSync } from 'node:child_process';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { check, checking, watchConsole } from './harness.ts';

interface Account {
  username: string;
  password: string;
}

const TOTP_STEP_MS = 30_000;

/** The code an independent implementation gives for this base32 secret now. */
function oathtool(secret: string): string {
  const result = spawnSync('oathtool', ['--totp', '-b', secret], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`oathtool failed: ${result.stderr}`);
  return result.stdout.trim();
}

/** Waits until the TOTP time step after `step` has begun, so its code has not been used yet. */
async function nextStep(page: Page, step: number): Promise<void> {
  const wait = (step + 1) * TOTP_STEP_MS - Date.now();
  if (wait > 0) await page.waitForTimeout(wait + 500);
}

/** Fills and submits the password form; answers once the app shows either the tasks or the second step. */
async function submitPassword(page: Page, base: string, { username, password }: Account): Promise<void> {
  await page.goto(`${base}/app/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page
    .getByRole('button', { name: 'Log out' })
    .or(page.getByRole('button', { name: 'Start over' }))
    .waitFor();
}

const loggedIn = async (page: Page) => {
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  return page.url().endsWith('/app/tasks');
};

async function logOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('heading', { name: 'Log in' }).waitFor();
}

async function openSecurity(page: Page): Promise<void> {
  await page.getByRole('link', { name: 'Security' }).click();
  await page.getByRole('heading', { name: 'Security', level: 1 }).waitFor();
}

async function addAuthenticator(session: CDPSession): Promise<string> {
  await session.send('WebAuthn.enable');
  const { authenticatorId } = await session.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return authenticatorId;
}

/** `reauthSeconds`: the server's REAUTH_MAX_AGE, waited out once to see the re-authentication prompt. */
export async function checkSecurity(
  browser: Browser,
  base: string,
  account: Account,
  reauthSeconds: number,
): Promise<void> {
  const context = await browser.newContext();
  const errors = watchConsole(context);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const authenticatorId = await addAuthenticator(cdp);
  const passkeys = page.getByRole('region', { name: 'Passkeys' });
  const totp = page.getByRole('region', { name: 'Authenticator app' });

  await checking(
    'add a passkey on the Security page',
    async () => {
      await submitPassword(page, base, account);
      await openSecurity(page);
      await passkeys.getByText('No passkeys yet.').waitFor();
      await passkeys.getByRole('button', { name: 'Add passkey' }).click();
      await passkeys.getByRole('status').filter({ hasText: 'Passkey added.' }).waitFor();
      const rows = passkeys.getByRole('list', { name: 'Your passkeys' }).getByRole('listitem');
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      check(
        'add a passkey: listed once, and a discoverable credential on the authenticator',
        (await rows.count()) === 1 && credentials.length === 1 && credentials[0]!.isResidentCredential,
        `${await rows.count()} rows, ${JSON.stringify(credentials.map((c) => c.isResidentCredential))}`,
      );
    },
    page,
  );

  await checking(
    'rename the passkey',
    async () => {
      const row = passkeys.getByRole('list', { name: 'Your passkeys' }).getByRole('listitem');
      await row.getByRole('button', { name: 'Rename' }).click();
      await row.getByLabel('Name').fill('This laptop');
      await row.getByRole('button', { name: 'Save' }).click();
      await passkeys.getByRole('listitem', { name: 'This laptop' }).waitFor();
      await page.reload();
      await passkeys.getByRole('listitem', { name: 'This laptop' }).waitFor();
      check('rename the passkey: the new name stays after a reload', true);
    },
    page,
  );

  await checking(
    'sign in with a passkey and no username',
    async () => {
      await logOut(page);
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      check('sign in with a passkey and no username', await loggedIn(page), page.url());
    },
    page,
  );

  await checking(
    'a password, then the passkey as the second step',
    async () => {
      await logOut(page);
      await submitPassword(page, base, account);
      const asksCode = await page.getByLabel('Code', { exact: true }).count();
      await page.getByRole('button', { name: 'Use a passkey' }).click();
      check(
        'a password, then the passkey as the second step (no code asked for without an authenticator app)',
        asksCode === 0 && (await loggedIn(page)),
        `${asksCode} code fields, ${page.url()}`,
      );
    },
    page,
  );

  let secret = '';
  let confirmedStep = 0;
  let recoveryCodes: string[] = [];
  await checking(
    'enrol an authenticator app with an oathtool code',
    async () => {
      await openSecurity(page);
      await totp.getByRole('button', { name: 'Enable authenticator app' }).click();
      await totp.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor();
      secret = ((await totp.locator('.secret').textContent()) ?? '').replace(/\s+/g, '');
      confirmedStep = Math.floor(Date.now() / TOTP_STEP_MS);
      await totp.getByLabel('Code', { exact: true }).fill(oathtool(secret));
      await totp.getByRole('button', { name: 'Verify' }).click();
      const codes = totp.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem');
      await codes.first().waitFor();
      recoveryCodes = (await codes.allTextContents()).map((code) => code.trim());
      await totp.getByText('Recovery codes left: 10.').waitFor();
      check(
        'enrol an authenticator app with an oathtool code: ten recovery codes shown',
        /^[A-Z2-7]{16,}$/.test(secret) && recoveryCodes.length === 10 && new Set(recoveryCodes).size === 10,
        `${secret} ${JSON.stringify(recoveryCodes)}`,
      );
    },
    page,
  );

  await checking(
    'log in with a recovery code, which then no longer works',
    async () => {
      await logOut(page);
      await submitPassword(page, base, account);
      await page.getByLabel('Code', { exact: true }).fill(recoveryCodes[0]!);
      await page.getByRole('button', { name: 'Verify' }).click();
      const inside = await loggedIn(page);
      await openSecurity(page);
      await totp.getByText('Recovery codes left: 9.').waitFor();
      await logOut(page);
      await submitPassword(page, base, account);
      await page.getByLabel('Code', { exact: true }).fill(recoveryCodes[0]!);
      await page.getByRole('button', { name: 'Verify' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      check(
        'log in with a recovery code, which then no longer works (an alert, still on the second step)',
        inside && (await page.getByRole('button', { name: 'Start over' }).count()) === 1,
        String(await alert.textContent()),
      );
    },
    page,
  );

  await checking(
    'log in with the next oathtool code',
    async () => {
      await nextStep(page, confirmedStep);
      await page.getByLabel('Code', { exact: true }).fill(oathtool(secret));
      await page.getByRole('button', { name: 'Verify' }).click();
      check('log in with the next oathtool code (after the refused try, same login)', await loggedIn(page), page.url());
    },
    page,
  );

  await checking(
    'past REAUTH_MAX_AGE, removing the passkey asks to confirm, and the passkey confirms',
    async () => {
      await openSecurity(page);
      await page.waitForTimeout((reauthSeconds + 1) * 1000);
      await passkeys.getByRole('listitem', { name: 'This laptop' }).getByRole('button', { name: 'Remove' }).click();
      const dialog = page.getByRole('dialog', { name: "Confirm it's you" });
      await dialog.waitFor();
      const stillListed = await passkeys.getByRole('listitem', { name: 'This laptop' }).count();
      await dialog.getByRole('button', { name: 'Use a passkey' }).click();
      await passkeys.getByText('No passkeys yet.').waitFor();
      check(
        'past REAUTH_MAX_AGE, removing the passkey asks to confirm, and the passkey confirms',
        stillListed === 1 && (await dialog.count()) === 0,
        `${stillListed} listed while asking`,
      );
    },
    page,
  );

  await checking(
    'remove the authenticator app: the removed passkey is refused, and a password alone logs in',
    async () => {
      await totp.getByRole('button', { name: 'Remove authenticator app' }).click();
      await totp.getByRole('button', { name: 'Enable authenticator app' }).waitFor();
      await logOut(page);
      // The authenticator still holds the credential; the API no longer knows it.
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      const refused = await page.getByRole('alert').textContent();
      await submitPassword(page, base, account);
      check(
        'remove the authenticator app: the removed passkey is refused, and a password alone logs in',
        Boolean(refused?.trim()) && (await loggedIn(page)),
        `${refused} ${page.url()}`,
      );
    },
    page,
  );

  check('no console errors on the Security page', errors.length === 0, errors.join(' | '));
  await context.close();
}

/**
 * The Sessions list of the Security page: two browsers of one user, each seeing both with itself
 * as "This device"; one ends the other, which is logged out at its next refresh.
 */
export async function checkSessions(browser: Browser, base: string, account: Account): Promise<void> {
  const [laptop, phone] = [await browser.newContext(), await browser.newContext()];
  const errors = [laptop, phone].map(watchConsole);
  const [page, other] = [await laptop.newPage(), await phone.newPage()];
  const sessions = page.getByRole('region', { name: 'Sessions' }).getByRole('list', { name: 'Your sessions' });
  await checking(
    'the Security page lists my sessions, and ending one logs that browser out',
    async () => {
      await submitPassword(other, base, account);
      await submitPassword(page, base, account);
      await openSecurity(page);
      await sessions.getByRole('listitem').nth(1).waitFor();
      const rows = await sessions.getByRole('listitem').allInnerTexts();
      const here = sessions.getByRole('listitem').filter({ hasText: 'This device' });
      await sessions.getByRole('button', { name: 'End session' }).click();
      await sessions.getByRole('button', { name: 'End session' }).waitFor({ state: 'detached' });
      // Reloaded, the app refreshes with its cookie, which no longer works: it shows the public task list.
      await other.reload();
      await other.getByRole('link', { name: 'Log in' }).waitFor();
      check(
        'the Security page lists my sessions ("This device" once), and ending the other logs that browser out',
        rows.length === 2 &&
          rows.every((row) => row.includes('Chrome on Linux')) &&
          (await here.count()) === 1 &&
          (await sessions.getByRole('listitem').count()) === 1 &&
          (await other.getByRole('button', { name: 'Log out' }).count()) === 0,
        JSON.stringify(rows),
      );
    },
    other,
  );
  check('no console errors on the Sessions list', errors.flat().length === 0, errors.flat().join(' | '));
  await laptop.close();
  await phone.close();
}

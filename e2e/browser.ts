/**
 * `npm run test:browser`: the app and the browser session in headless Chromium (Debian's
 * /usr/bin/chromium, driven by playwright-core). Starts `npm start` on a free port with its own
 * database (and a staff user made by `npm run createsuperuser`), access tokens of 5 s, a recent
 * login of 30 s, and CORS_ALLOWED_ORIGINS naming one other origin, where the same app, built for
 * that origin, is served too; a third origin is not listed. The Security page runs with Chromium's virtual
 * authenticator as the passkey device; the audit log's pages read what the checks before them did.
 * Then another app, a relying party on a port of its own, signs a user in through the consent page.
 * Last, a server of its own with ACTIVATION_DELIVERY=email, for an email change confirmed by mail,
 * and one with AUTH_PROVIDERS, for a sign-in through another provider. Loopback only; bounded in time.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePorts } from '../scripts/free-port.ts';
import { startLocalServer } from '../scripts/local-server.ts';
import { projectRoot } from '../scripts/wrangler.ts';
import { checkAccount, checkElsewhere, checkJourney, checkList, checkStaff } from './app-checks.ts';
import { checkActivity, checkAudit } from './audit-checks.ts';
import { checkEmailChange } from './email-change-checks.ts';
import { checkExternalSignIn } from './external-checks.ts';
import { buildAppFor, launchChromium, serveApp, summary } from './harness.ts';
import { checkOidcSignIn } from './oidc-checks.ts';
import { checkOrigin } from './origin-checks.ts';
import { checkSecurity, checkSessions } from './security-checks.ts';
import { activeUser, checkCrossOriginSession, checkSession } from './session-checks.ts';

const ACCESS_TOKEN_SECONDS = 5;
/** Long enough for every check's sensitive change to follow its login; short enough to wait out once. */
const REAUTH_SECONDS = 30;
const STAFF = { username: 'e2e_staff', password: 'a staff passphrase' };

const [API_PORT, LISTED_PORT, UNLISTED_PORT, MAIL_PORT, OTHER_APP_PORT, EXTERNAL_PORT] = (await freePorts(6)) as [
  number,
  number,
  number,
  number,
  number,
  number,
];
const state = mkdtempSync(path.join(tmpdir(), 'browser-state-'));
const staff = spawnSync(
  process.execPath,
  ['scripts/createsuperuser.ts', '--username', STAFF.username, '--password', STAFF.password, '--persist-to', state],
  { cwd: projectRoot, stdio: 'inherit' },
);
if (staff.status !== 0) throw new Error('createsuperuser failed');

const apiServer = await startLocalServer(API_PORT, [
  '--persist-to',
  state,
  '--var',
  `CORS_ALLOWED_ORIGINS:http://localhost:${LISTED_PORT}`,
  '--var',
  `JWT_EXPIRATION_DELTA:${ACCESS_TOKEN_SECONDS}s`,
  '--var',
  `REAUTH_MAX_AGE:${REAUTH_SECONDS}s`,
]);
const elsewhere = buildAppFor(apiServer.base);
const hosts: Server[] = await Promise.all([serveApp(elsewhere, LISTED_PORT), serveApp(elsewhere, UNLISTED_PORT)]);
const browser = await launchChromium();

try {
  await checkOrigin(browser, apiServer.base, STAFF);
  const account = await checkJourney(browser, apiServer.base, ACCESS_TOKEN_SECONDS);
  await checkList(browser, apiServer.base, account);
  await checkStaff(browser, apiServer.base, STAFF, account);
  await checkAccount(browser, apiServer.base, await activeUser(apiServer.base));
  const elsewhereUrls = [`http://localhost:${LISTED_PORT}`, `http://localhost:${UNLISTED_PORT}`] as const;
  await checkElsewhere(browser, ...elsewhereUrls, await activeUser(apiServer.base));
  await checkSecurity(browser, apiServer.base, await activeUser(apiServer.base), REAUTH_SECONDS);
  await checkSessions(browser, apiServer.base, await activeUser(apiServer.base));
  await checkSession(browser, apiServer.base, ACCESS_TOKEN_SECONDS);
  await checkCrossOriginSession(browser, apiServer.base, LISTED_PORT, UNLISTED_PORT);
  await checkActivity(browser, apiServer.base, await activeUser(apiServer.base));
  await checkAudit(browser, apiServer.base, STAFF, account);
  await checkOidcSignIn(browser, apiServer.base, STAFF, OTHER_APP_PORT);
} finally {
  for (const host of hosts) host.close();
  await apiServer.stop();
  rmSync(elsewhere, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
}

// Then, one server at a time, mail delivery on: the email change confirmed through its link.
const mailState = mkdtempSync(path.join(tmpdir(), 'browser-mail-state-'));
try {
  const mailServer = await startLocalServer(MAIL_PORT, [
    '--persist-to',
    mailState,
    '--var',
    'ACTIVATION_DELIVERY:email',
  ]);
  try {
    await checkEmailChange(browser, mailServer.base);
  } finally {
    await mailServer.stop();
  }
  // And with AUTH_PROVIDERS: sign in through a real OpenID Connect provider on a loopback port.
  await checkExternalSignIn(browser, EXTERNAL_PORT, mailState);
} finally {
  await browser.close();
  rmSync(mailState, { recursive: true, force: true });
}

const { passed, failed } = summary();
console.log(`browser test: ${passed} of ${passed + failed} checks passed`);
process.exitCode = failed === 0 ? 0 : 1;

/**
 * "Sign in with" this service from another app: a small relying party of its own origin (a Node
 * server using openid-client, a confidential client) sends the browser to /oauth/authorize; the user
 * logs in on our app, allows on the consent page, and the other app shows who signed in and the
 * user's tasks, read with its access token. Then a second sign-in skips the consent, the Security
 * page lists and revokes the app, and the app's logout goes through our logout page and back.
 */
import { createServer } from 'node:http';
import * as client from 'openid-client';
import type { Browser } from 'playwright-core';
import { check, checking, watchConsole } from './harness.ts';
import { activeUser } from './session-checks.ts';

interface PendingSignIn {
  verifier: string;
  state: string;
  nonce: string;
}

/**
 * The other app, with openid-client as docs/oidc.md shows it: `/` links to sign-in, `/callback`
 * finishes it, `/logout` asks us to log out.
 */
async function startRelyingParty(api: string, port: number, registered: { client_id: string; client_secret: string }) {
  const base = `http://localhost:${port}`;
  const config = await client.discovery(new URL(api), registered.client_id, registered.client_secret, undefined, {
    // The API runs on plain http://localhost here.
    execute: [client.allowInsecureRequests],
  });
  const pending = new Map<string, PendingSignIn>();
  let idToken = '';
  const page = (body: string) => `<!doctype html><title>Reports</title><main>${body}</main>`;
  const server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', base);
      if (url.pathname === '/login') {
        const attempt = {
          verifier: client.randomPKCECodeVerifier(),
          state: client.randomState(),
          nonce: client.randomNonce(),
        };
        pending.set(attempt.state, attempt);
        const signInUrl = client.buildAuthorizationUrl(config, {
          redirect_uri: `${base}/callback`,
          scope: 'openid profile tasks.read',
          state: attempt.state,
          nonce: attempt.nonce,
          code_challenge_method: 'S256',
          code_challenge: await client.calculatePKCECodeChallenge(attempt.verifier),
        });
        return void response.writeHead(302, { Location: signInUrl.href }).end();
      }
      if (url.pathname === '/callback' && url.searchParams.has('error')) {
        return void response
          .writeHead(200, { 'Content-Type': 'text/html' })
          .end(page(`<h1>Not signed in</h1><p>${url.searchParams.get('error')}</p>`));
      }
      if (url.pathname === '/callback') {
        const attempt = pending.get(url.searchParams.get('state') ?? '');
        if (!attempt) throw new Error('unknown state');
        const tokens = await client.authorizationCodeGrant(config, url, {
          pkceCodeVerifier: attempt.verifier,
          expectedState: attempt.state,
          expectedNonce: attempt.nonce,
          idTokenExpected: true,
        });
        idToken = tokens.id_token!;
        const { sub, preferred_username } = tokens.claims()!;
        const list = await fetch(`${api}/tasks/?person=${sub}`, {
          headers: { Authorization: `Bearer ${tokens.access_token}` },
        });
        const { results } = (await list.json()) as { results: { title: string }[] };
        const titles = results.map(({ title }) => `<li>${title}</li>`).join('');
        return void response
          .writeHead(200, { 'Content-Type': 'text/html' })
          .end(page(`<h1>Signed in as ${String(preferred_username)}</h1><ul aria-label="Tasks">${titles}</ul>`));
      }
      if (url.pathname === '/logout') {
        const endSession = client.buildEndSessionUrl(config, {
          id_token_hint: idToken,
          post_logout_redirect_uri: `${base}/`,
          state: 'logged-out',
        });
        return void response.writeHead(302, { Location: endSession.href }).end();
      }
      const state = url.searchParams.get('state');
      response
        .writeHead(200, { 'Content-Type': 'text/html' })
        .end(
          page(`<h1>Reports</h1>${state ? `<p>Back with ${state}</p>` : ''}<a href="/login">Sign in with Tasks</a>`),
        );
    })().catch((error: unknown) => {
      response.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { base, server };
}

/** A confidential client for the other app, registered by staff through the API. */
async function registerClient(api: string, staff: { username: string; password: string }, base: string) {
  const obtained = await fetch(`${api}/auth/obtain_token/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(staff),
  });
  const { token } = (await obtained.json()) as { token: string };
  const created = await fetch(`${api}/oauth/clients/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ name: 'Reports', redirect_uris: [`${base}/callback`, `${base}/`] }),
  });
  if (created.status !== 201) throw new Error(`registering the client: ${created.status} ${await created.text()}`);
  return (await created.json()) as { client_id: string; client_secret: string };
}

export async function checkOidcSignIn(
  browser: Browser,
  api: string,
  staff: { username: string; password: string },
  port: number,
) {
  const base = `http://localhost:${port}`;
  const rp = await startRelyingParty(api, port, await registerClient(api, staff, base));
  const user = await activeUser(api);
  const context = await browser.newContext();
  const errors = watchConsole(context);
  const page = await context.newPage();
  try {
    const obtained = await fetch(`${api}/auth/obtain_token/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(user),
    });
    const { token } = (await obtained.json()) as { token: string };
    await fetch(`${api}/tasks/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ title: 'Quarterly figures', due_to: '2026-12-31T12:00:00Z' }),
    });

    await checking(
      'another app signs a user in through the login and consent pages, and reads their tasks with its token',
      async () => {
        await page.goto(`${base}/`);
        await page.getByRole('link', { name: 'Sign in with Tasks' }).click();
        await page.waitForURL(/\/app\/login\?next=/);
        await page.getByLabel('Username').fill(user.username);
        await page.getByLabel('Password').fill(user.password);
        await page.getByLabel('Password').press('Enter');
        await page.waitForURL(/\/app\/authorize\?request=/);
        await page.getByText('Reports asks to:').waitFor();
        const asked = await page.getByRole('list', { name: 'What the app asks for' }).innerText();
        check(
          'the consent page names the app and its scopes in words',
          asked.includes('Read your tasks') && asked.includes('See your username'),
          asked,
        );
        await page.getByRole('button', { name: 'Allow' }).click();
        await page.waitForURL(`${base}/callback?**`);
        await page.getByRole('heading', { name: `Signed in as ${user.username}` }).waitFor();
        const tasks = await page.getByRole('list', { name: 'Tasks' }).innerText();
        check('the other app shows the signed-in user and their tasks', tasks.includes('Quarterly figures'), tasks);
      },
      page,
    );

    await checking(
      'a second sign-in with a remembered consent goes straight back',
      async () => {
        await page.goto(`${base}/`);
        await page.getByRole('link', { name: 'Sign in with Tasks' }).click();
        await page.getByRole('heading', { name: `Signed in as ${user.username}` }).waitFor();
        check('no consent page the second time', page.url().startsWith(`${base}/callback`), page.url());
      },
      page,
    );

    await checking(
      "the app's logout goes through our logout page, ends the session, and returns with state",
      async () => {
        await page.goto(`${base}/logout`);
        await page.waitForURL(/\/app\/logout\?request=/);
        await page.getByText('Reports asks to log you out.').waitFor();
        await page.getByRole('main').getByRole('button', { name: 'Log out' }).click();
        await page.waitForURL(`${base}/?state=logged-out`);
        await page.goto(`${api}/app/security`);
        await page.waitForURL(/\/app\/login/);
        check('after the logout, the app asks to log in again', page.url().includes('/app/login'), page.url());
      },
      page,
    );

    await checking(
      'the Security page lists the app, and revoking it makes the next sign-in ask again',
      async () => {
        await page.getByLabel('Username').fill(user.username);
        await page.getByLabel('Password').fill(user.password);
        await page.getByLabel('Password').press('Enter');
        await page.waitForURL(/\/app\/security/);
        const apps = page.getByRole('list', { name: 'Your connected apps' });
        const listed = await apps.innerText();
        check(
          'Connected apps lists Reports with its scopes',
          listed.includes('Reports') && listed.includes('Read your tasks'),
          listed,
        );
        await apps.getByRole('button', { name: 'Revoke' }).click();
        await page.getByText('No connected apps.').waitFor();
        await page.goto(`${base}/`);
        await page.getByRole('link', { name: 'Sign in with Tasks' }).click();
        await page.waitForURL(/\/app\/authorize\?request=/);
        await page.getByRole('button', { name: 'Deny' }).click();
        await page.waitForURL(`${base}/callback?**`);
        check(
          'Deny sends the user back with access_denied',
          new URL(page.url()).searchParams.get('error') === 'access_denied',
          page.url(),
        );
      },
      page,
    );
    check('no console errors during the sign-in through another app', errors.length === 0, errors.join('\n'));
  } finally {
    await context.close();
    rp.server.close();
  }
}

/**
 * Sign in with another provider, against a real OpenID Connect provider on a loopback port
 * (panva's oidc-provider, test/external/provider-setup.ts): sign-up, a second sign-in, email
 * verification as the provider says it, the pre-account-takeover attempt, and every refused
 * callback creating nothing.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, inject, it } from 'vitest';
import { issueExternalLoginToken } from '../../src/auth/tokens';
import { getDb } from '../../src/db/client';
import { auditEvents, identities, users } from '../../src/db/schema';
import { timeStep, totpCode } from '../../src/auth/totp';
import { accessTokenFor, decodeJwt, postJson, send, settings, SITE_URL, uniqueName } from '../helpers';
import { callUs, CookieJar, logInAtProvider, providersEnv, signInWith, startSignIn } from './sign-in';

const db = () => getDb(env.DB);

const identityOf = async (subject: string) => db().select().from(identities).where(eq(identities.subject, subject));

/** The session the callback started: its refresh answers a token of that user. */
async function sessionUser(jar: CookieJar) {
  const response = await callUs(providersEnv(), '/auth/session/refresh/', jar, {
    method: 'POST',
    headers: { Origin: SITE_URL },
  });
  expect(response.status).toBe(200);
  const { token } = (await response.json()) as { token: string };
  return decodeJwt(token).payload;
}

describe('GET /auth/external/', () => {
  it('lists the configured providers for the login page', async () => {
    const response = await callUs(providersEnv(), '/auth/external/', new CookieJar());
    expect(await response.json()).toEqual([
      { id: 'local', name: 'Local ID', start_url: `${SITE_URL}/auth/external/local/` },
      { id: 'rogue', name: 'Rogue ID', start_url: `${SITE_URL}/auth/external/rogue/` },
      { id: 'github', name: 'GitHub', start_url: `${SITE_URL}/auth/external/github/` },
    ]);
  });
});

describe('signing in with an OpenID Connect provider', () => {
  it('makes an account on the first sign-in and signs it in; the second sign-in finds the same account', async () => {
    const login = uniqueName('ada');
    const first = await signInWith(providersEnv(), 'local', login);
    expect(first.response.status).toBe(302);
    expect(first.location.href).toBe(`${SITE_URL}/app/tasks`);
    const claims = await sessionUser(first.jar);
    expect(claims).toMatchObject({ username: login, amr: ['fed'] });
    const [identity] = await identityOf(login);
    expect(identity).toMatchObject({ provider: 'local', subject: login, userId: claims.user_id, emailVerified: true });
    const [user] = await db().select().from(users).where(eq(users.id, identity!.userId));
    expect(user).toMatchObject({ email: `${login}@example.com`, emailVerified: true, isActive: true });
    expect(user!.password).toMatch(/^!/);
    // No password logs in to such an account.
    expect((await postJson('/auth/obtain_token/', { username: login, password: user!.password })).status).toBe(400);

    const second = await signInWith(providersEnv(), 'local', login);
    expect((await sessionUser(second.jar)).user_id).toBe(claims.user_id);
    expect(await identityOf(login)).toHaveLength(1);
    const events = await db().select().from(auditEvents).where(eq(auditEvents.subjectId, identity!.userId));
    expect(events.map((event) => event.kind)).toEqual(expect.arrayContaining(['user.registered']));
  });

  it('never fills an address the provider did not verify', async () => {
    const login = uniqueName('unverified');
    const { location } = await signInWith(providersEnv(), 'local', login);
    expect(location.pathname).toBe('/app/tasks');
    const [identity] = await identityOf(login);
    expect(identity).toMatchObject({ email: `${login}@example.com`, emailVerified: false });
    const [user] = await db().select().from(users).where(eq(users.id, identity!.userId));
    expect(user).toMatchObject({ email: '', emailVerified: false });
  });

  it('never links to an account by its email: a pre-registered address gets a separate new account', async () => {
    const login = uniqueName('victim');
    // The attacker registers the victim's address first (with mail off, it is not verified).
    const attacker = uniqueName('attacker');
    const registered = await postJson('/api-register/', {
      username: attacker,
      password: 'an attacker passphrase',
      email: `${login}@example.com`,
    });
    expect(registered.status).toBe(201);
    await signInWith(providersEnv(), 'local', login);
    const [identity] = await identityOf(login);
    const [attackerRow] = await db().select().from(users).where(eq(users.username, attacker));
    expect(identity!.userId).not.toBe(attackerRow!.id);
    expect(await db().select().from(identities).where(eq(identities.userId, attackerRow!.id))).toEqual([]);
  });

  it("makes a unique username when the provider's is taken", async () => {
    const login = uniqueName('taken');
    await postJson('/api-register/', { username: login, password: 'someone else passphrase', email: 'x@example.com' });
    await signInWith(providersEnv(), 'local', login);
    const [identity] = await identityOf(login);
    const [user] = await db().select().from(users).where(eq(users.id, identity!.userId));
    expect(user!.username).toMatch(new RegExp(`^${login}_\\d{6}$`));
  });
});

describe('refused callbacks create nothing', () => {
  const refusal = (location: URL) => location.href.replace(`${SITE_URL}/app/login?external_error=`, '');

  it("a wrong state, a missing login cookie, or another provider's cookie", async () => {
    const login = uniqueName('state');
    const { authorizeUrl, jar } = await startSignIn(providersEnv(), 'local');
    const callback = await logInAtProvider(authorizeUrl, login);
    const wrongState = new URL(callback);
    wrongState.searchParams.set('state', 'not-the-state');
    for (const [url, cookies] of [
      [wrongState, jar],
      [callback, new CookieJar()],
    ] as const) {
      const response = await callUs(providersEnv(), url, cookies);
      expect(refusal(new URL(response.headers.get('Location')!))).toBe('state');
    }
    const other = await callUs(providersEnv(), callback.href.replace('/local/', '/rogue/'), jar);
    expect(refusal(new URL(other.headers.get('Location')!))).toBe('state');
    expect(await identityOf(login)).toEqual([]);
  });

  it('a replayed callback: the provider refuses its code twice', async () => {
    const login = uniqueName('replay');
    const { authorizeUrl, jar } = await startSignIn(providersEnv(), 'local');
    const callback = await logInAtProvider(authorizeUrl, login);
    const cookie = new CookieJar();
    for (const [name, value] of jar.cookies) cookie.cookies.set(name, value);
    expect((await callUs(providersEnv(), callback, jar)).headers.get('Location')).toBe(`${SITE_URL}/app/tasks`);
    const replay = await callUs(providersEnv(), callback, cookie);
    expect(refusal(new URL(replay.headers.get('Location')!))).toBe('provider_refused');
    expect(await identityOf(login)).toHaveLength(1);
  });

  it('a wrong nonce', async () => {
    const login = uniqueName('nonce');
    const { authorizeUrl, jar } = await startSignIn(providersEnv(), 'local');
    const callback = await logInAtProvider(authorizeUrl, login);
    // The same sign-in, but a login cookie whose nonce is not the one the provider put in its token.
    const real = decodeJwt(jar.cookies.get('__Secure-external-login')!).payload as Record<string, string>;
    const forged = await issueExternalLoginToken(
      { provider: 'local', state: real.state!, nonce: 'another-nonce', verifier: real.verifier!, linkTo: undefined },
      settings(),
    );
    const forgedJar = new CookieJar();
    forgedJar.cookies.set('__Secure-external-login', forged);
    const response = await callUs(providersEnv(), callback, forgedJar);
    expect(refusal(new URL(response.headers.get('Location')!))).toBe('invalid_id_token');
    expect(await identityOf(login)).toEqual([]);
  });

  it("an ID token signed by a key that is not the issuer's", async () => {
    const login = uniqueName('rogue');
    const { location } = await signInWith(providersEnv(), 'rogue', login);
    expect(refusal(location)).toBe('invalid_id_token');
    expect(await identityOf(login)).toEqual([]);
  });

  it('an error from the provider (the user denied)', async () => {
    const { authorizeUrl, jar } = await startSignIn(providersEnv(), 'local');
    const state = authorizeUrl.searchParams.get('state')!;
    const response = await callUs(
      providersEnv(),
      `/auth/external/local/callback?error=access_denied&state=${state}`,
      jar,
    );
    expect(refusal(new URL(response.headers.get('Location')!))).toBe('denied');
  });

  it('an unknown provider is a 404', async () => {
    const response = await callUs(providersEnv(), '/auth/external/nowhere/', new CookieJar());
    expect(response.status).toBe(404);
  });
});

describe('after the provider', () => {
  it('an account with a second factor is asked for it, and amr says fed plus the factor', async () => {
    const login = uniqueName('factor');
    const first = await signInWith(providersEnv(), 'local', login);
    const claims = await sessionUser(first.jar);
    const token = await accessTokenFor({
      id: claims.user_id as number,
      username: login,
      password: '',
      isStaff: false,
      tokenVersion: claims.token_version as number,
    });
    const started = await send('POST', '/auth/mfa/totp/', { token });
    const { secret } = (await started.json()) as { secret: string };
    const confirmed = await send('POST', '/auth/mfa/totp/confirm/', {
      token,
      body: { code: await totpCode(secret, timeStep(new Date())) },
    });
    expect(confirmed.status).toBe(200);
    const { recovery_codes } = (await confirmed.json()) as { recovery_codes: string[] };

    const second = await signInWith(providersEnv(), 'local', login);
    expect(second.location.pathname).toBe('/app/login');
    expect(second.jar.cookies.has('__Secure-session')).toBe(false);
    const step = new URLSearchParams(second.location.hash.slice(1));
    expect(step.get('methods')).toContain('totp');
    const verified = await postJson('/auth/mfa/verify/', { mfa_token: step.get('mfa_token'), code: recovery_codes[0] });
    expect(verified.status).toBe(200);
    const { token: signedIn } = (await verified.json()) as { token: string };
    const payload = decodeJwt(signedIn).payload as { amr: string[] };
    expect(payload.amr).toEqual(expect.arrayContaining(['fed', 'mfa']));
    expect(payload.amr).not.toContain('pwd');
  });

  it('a deactivated account is refused; with registration closed, only linked accounts sign in', async () => {
    const login = uniqueName('closed');
    await signInWith(providersEnv(), 'local', login);
    const closed = { ...providersEnv(), REGISTRATION_OPEN: 'false' };
    expect((await signInWith(closed, 'local', login)).location.pathname).toBe('/app/tasks');
    const newcomer = uniqueName('newcomer');
    expect((await signInWith(closed, 'local', newcomer)).location.search).toBe('?external_error=registration_closed');
    expect(await identityOf(newcomer)).toEqual([]);
    const [identity] = await identityOf(login);
    await db().update(users).set({ isActive: false }).where(eq(users.id, identity!.userId));
    expect((await signInWith(providersEnv(), 'local', login)).location.search).toBe('?external_error=account_disabled');
  });
});

describe('a provider whose discovery document names another issuer', () => {
  it('is refused before the browser is sent anywhere', async () => {
    const misnamed = {
      AUTH_PROVIDERS: JSON.stringify([
        { id: 'misnamed', name: 'Misnamed', type: 'oidc', issuer: `${inject('externalIssuer')}/`, client_id: 'x' },
      ]),
      AUTH_PROVIDER_MISNAMED_SECRET: 'x',
    };
    const response = await callUs(misnamed, '/auth/external/misnamed/', new CookieJar());
    expect(response.headers.get('Location')).toBe(`${SITE_URL}/app/login?external_error=provider_unavailable`);
  });
});

describe('signing in with GitHub (OAuth 2, the user from its API)', () => {
  it("makes an account from GitHub's user, with the primary email only when GitHub verified it", async () => {
    for (const [login, verified] of [
      [uniqueName('octo'), true],
      [uniqueName('unverified_octo'), false],
    ] as const) {
      const { location, jar } = await signInWith(providersEnv(), 'github', login);
      expect(location.href).toBe(`${SITE_URL}/app/tasks`);
      const claims = await sessionUser(jar);
      expect(claims).toMatchObject({ username: login, amr: ['fed'] });
      const [identity] = await db()
        .select()
        .from(identities)
        .where(eq(identities.userId, claims.user_id as number));
      expect(identity).toMatchObject({
        provider: 'github',
        subject: expect.stringMatching(/^\d+$/),
        emailVerified: verified,
      });
      const [user] = await db().select().from(users).where(eq(users.id, identity!.userId));
      expect(user!.email).toBe(verified ? `${login}@example.com` : '');
      // Again: the same account, found by GitHub's numeric id.
      expect((await sessionUser((await signInWith(providersEnv(), 'github', login)).jar)).user_id).toBe(claims.user_id);
    }
  });

  it('a refused code is refused', async () => {
    const { authorizeUrl, jar } = await startSignIn(providersEnv(), 'github');
    const callback = await logInAtProvider(authorizeUrl, uniqueName('octo'));
    callback.searchParams.set('code', 'not-a-code');
    const response = await callUs(providersEnv(), callback, jar);
    expect(response.headers.get('Location')).toBe(`${SITE_URL}/app/login?external_error=provider_refused`);
  });
});

/**
 * Sign in with another provider (AUTH_PROVIDERS): GET /auth/external/<provider>/ sends the browser
 * there with state, nonce and PKCE held in a short-lived signed cookie; the callback checks them,
 * has the provider vouch for its user, and signs the linked account in (a new account for an
 * identity never seen, never one found by email), with its second factor when it has one. Every
 * failure sends the browser to the app's login page with `?external_error=` and creates nothing.
 */
import type { Context } from 'hono';
import { generateCookie, getCookie } from 'hono/cookie';
import { eventOrigin } from '../audit/record';
import { newSecret } from '../auth/random-secrets';
import { EXTERNAL_LOGIN_LIFETIME, issueExternalLoginToken, TokenError, verifyExternalLoginToken } from '../auth/tokens';
import { isConstraintViolation } from '../db/client';
import { createFederatedAccount, findIdentityUser, linkIdentity, touchIdentity } from '../db/identities';
import { notFound } from '../drf/errors';
import { USERNAME_MAX_LENGTH } from '../drf/fields';
import type { AppEnv } from '../env';
import { afterResponse } from '../http/after-response';
import { defineRoute } from '../http/route';
import { s256 } from '../oauth/authorize';
import { authorizationUrl, completeSignIn, ExternalLoginError, type ExternalProfile } from '../external/client';
import type { ExternalProvider } from '../external/provider-settings';
import { recordLoginAfterResponse, startSecondStep } from './credentials';
import { openBrowserSession } from './sessions';

const COOKIE = '__Secure-external-login';
const COOKIE_PATH = '/auth/external/';
const LOCATION = { Location: 'Where the browser goes next.' };

/**
 * `SameSite=Lax`: the callback is a navigation the provider's site starts, which a Strict cookie
 * would miss; Lax still keeps it from any other site's subrequests and forms.
 */
const loginCookie = (value: string, maxAge: number) =>
  generateCookie(COOKIE, value, { httpOnly: true, secure: true, sameSite: 'Lax', path: COOKIE_PATH, maxAge });

const callbackUrl = (c: Context<AppEnv>, provider: ExternalProvider) =>
  `${c.get('settings').siteUrl}/auth/external/${provider.id}/callback`;

export function providerOf(c: Context<AppEnv>, id: string): ExternalProvider {
  const provider = c.get('settings').authProviders.find((candidate) => candidate.id === id);
  if (!provider) throw notFound();
  return provider;
}

/** Back to the app's login page, saying what went wrong; the login cookie is cleared. */
function failed(c: Context<AppEnv>, failure: ExternalLoginError) {
  if (failure.cause !== undefined) {
    console.error(
      JSON.stringify({ requestId: c.get('requestId'), message: 'External sign-in failed', failure: failure.failure }),
    );
  }
  c.header('Set-Cookie', loginCookie('', 0), { append: true });
  return c.redirect(`${c.get('settings').siteUrl}/app/login?external_error=${failure.failure}`, 302);
}

/**
 * Where the browser goes to sign in at the provider, with the login cookie set on this answer;
 * `linkTo`: the logged-in user linking the provider's account to theirs.
 */
export async function startExternalLogin(c: Context<AppEnv>, provider: ExternalProvider, linkTo?: number) {
  const login = { provider: provider.id, state: newSecret(), nonce: newSecret(), verifier: newSecret(), linkTo };
  const location = await authorizationUrl(provider, {
    redirectUri: callbackUrl(c, provider),
    state: login.state,
    nonce: login.nonce,
    codeChallenge: await s256(login.verifier),
  });
  const token = await issueExternalLoginToken(login, c.get('settings'));
  c.header('Set-Cookie', loginCookie(token, EXTERNAL_LOGIN_LIFETIME));
  return location;
}

async function start(c: Context<AppEnv>, provider: ExternalProvider) {
  try {
    return c.redirect(await startExternalLogin(c, provider), 302);
  } catch (error) {
    if (error instanceof ExternalLoginError) return failed(c, error);
    throw error;
  }
}

/** The end of a link started from the profile: the identity joins the user, unless it is someone else's. */
async function finishLink(c: Context<AppEnv>, provider: ExternalProvider, profile: ExternalProfile, userId: number) {
  const db = c.get('db');
  const linked = await findIdentityUser(db, provider.id, profile.subject);
  const back = (outcome: string) => c.redirect(`${c.get('settings').siteUrl}/app/security?link=${outcome}`, 302);
  if (linked?.user.id === userId) return back('linked');
  try {
    const { email, emailVerified, subject } = profile;
    await linkIdentity(
      db,
      { userId, provider: provider.id, subject, email, emailVerified, now: new Date() },
      eventOrigin(c),
    );
  } catch (error) {
    // The unique (provider, subject) index: that account is someone else's (or the user is gone).
    if (isConstraintViolation(error, 'constraint failed')) return back('in_use');
    throw error;
  }
  return back('linked');
}

/** A username for a new account: the provider's hint in Django's alphabet, made unique by a suffix. */
function usernameCandidate(profile: ExternalProfile, provider: ExternalProvider, attempt: number): string {
  const base =
    (profile.usernameHint ?? '')
      .normalize('NFKC')
      .replace(/[^\p{L}\p{N}_.@+-]/gu, '')
      .slice(0, USERNAME_MAX_LENGTH - 8) || `${provider.id}_user`;
  if (attempt === 0) return base;
  const suffix = crypto.getRandomValues(new Uint32Array(1))[0]! % 1_000_000;
  return `${base}_${String(suffix).padStart(6, '0')}`;
}

/** The account of a first sign-in: new, active, with no usable password and the email only if verified. */
async function newAccount(c: Context<AppEnv>, provider: ExternalProvider, profile: ExternalProfile, now: Date) {
  if (!c.get('settings').registrationOpen) throw new ExternalLoginError('registration_closed');
  for (let attempt = 0; ; attempt++) {
    try {
      return await createFederatedAccount(
        c.get('db'),
        {
          username: usernameCandidate(profile, provider, attempt),
          password: `!${newSecret()}`,
          email: profile.emailVerified ? profile.email! : '',
          emailVerified: profile.emailVerified,
          provider: provider.id,
          subject: profile.subject,
          identityEmail: profile.email,
          identityEmailVerified: profile.emailVerified,
          now,
        },
        eventOrigin(c),
      );
    } catch (error) {
      const taken = isConstraintViolation(error, 'UNIQUE constraint failed: users.username');
      if (!taken || attempt >= 4) throw error;
    }
  }
}

async function callback(c: Context<AppEnv>, provider: ExternalProvider) {
  const settings = c.get('settings');
  const query = c.req.query();
  const cookie = getCookie(c, COOKIE);
  let profile: ExternalProfile;
  let linkTo: number | undefined;
  try {
    if (cookie === undefined) throw new ExternalLoginError('state');
    const login = await verifyExternalLoginToken(cookie, settings).catch((error: unknown) => {
      throw error instanceof TokenError ? new ExternalLoginError('state') : error;
    });
    if (login.provider !== provider.id || query.state !== login.state) throw new ExternalLoginError('state');
    linkTo = login.linkTo;
    if (query.error !== undefined || query.code === undefined) throw new ExternalLoginError('denied');
    profile = await completeSignIn(provider, {
      code: query.code,
      verifier: login.verifier,
      nonce: login.nonce,
      redirectUri: callbackUrl(c, provider),
    });
    if (!settings.jwtAllowRefresh) throw new ExternalLoginError('sessions_disabled');
  } catch (error) {
    if (error instanceof ExternalLoginError) return failed(c, error);
    throw error;
  }
  const now = new Date();
  c.header('Set-Cookie', loginCookie('', 0), { append: true });
  if (linkTo !== undefined) return finishLink(c, provider, profile, linkTo);
  const linked = await findIdentityUser(c.get('db'), provider.id, profile.subject);
  let user;
  try {
    user = linked?.user ?? (await newAccount(c, provider, profile, now));
  } catch (error) {
    if (error instanceof ExternalLoginError) return failed(c, error);
    throw error;
  }
  if (!user.isActive) return failed(c, new ExternalLoginError('account_disabled'));
  if (linked)
    await afterResponse(c, 'Recording an external sign-in', () => touchIdentity(c.get('db'), linked.identityId, now));
  if (user.mfaEnabled) {
    // The second step, as after a password: the app's login page asks for it.
    const { mfaToken, methods } = await startSecondStep(c, user, { amr: ['fed'], session: true });
    const fragment = new URLSearchParams({ mfa_token: mfaToken, methods: methods.join(' ') });
    return c.redirect(`${settings.siteUrl}/app/login#${fragment}`, 302);
  }
  await recordLoginAfterResponse(c, user, ['fed']);
  await openBrowserSession(c, user, { amr: ['fed'], now });
  return c.redirect(`${settings.siteUrl}/app/tasks`, 302);
}

export const externalRoutes = [
  defineRoute({
    method: 'get',
    path: '/auth/external/',
    tag: 'external',
    summary: 'The providers one may sign in with (AUTH_PROVIDERS)',
    auth: 'none',
    responses: { 200: 'ExternalProviderList' },
    handler: (c) =>
      c.json(
        c.get('settings').authProviders.map(({ id, name }) => ({
          id,
          name,
          start_url: `${c.get('settings').siteUrl}/auth/external/${id}/`,
        })),
      ),
  }),
  defineRoute({
    method: 'get',
    path: '/auth/external/{provider}/',
    tag: 'external',
    summary: 'Sign in with another provider: to its login page',
    description:
      'A browser navigation: 302 to the provider, with a short-lived HttpOnly cookie holding the state, nonce and PKCE verifier the callback checks. 404 for a provider AUTH_PROVIDERS does not name.',
    auth: 'none',
    rateLimit: 'external',
    head: false,
    responses: { 302: null },
    headers: { 302: { ...LOCATION, 'Set-Cookie': 'The login cookie (Path=/auth/external/, 10 minutes).' } },
    handler: (c, { param }) => start(c, providerOf(c, param('provider'))),
  }),
  defineRoute({
    method: 'get',
    path: '/auth/external/{provider}/callback/',
    tag: 'external',
    summary: "The provider's way back: signs the linked account in (or makes one), then to the app",
    description:
      "Checks the login cookie's state, exchanges the code, and verifies the ID token (issuer, audience, expiry, nonce, the provider's keys). Then 302 to /app/tasks with the session cookie, or to /app/login#mfa_token= for an account with a second factor; any failure 302 to /app/login?external_error= (`state`, `denied`, `provider_refused`, `provider_unavailable`, `invalid_id_token`, `account_disabled`, `registration_closed`).",
    auth: 'none',
    rateLimit: 'external',
    head: false,
    responses: { 302: null },
    headers: { 302: { ...LOCATION, 'Set-Cookie': 'The session cookie; the login cookie cleared.' } },
    handler: (c, { param }) => callback(c, providerOf(c, param('provider'))),
  }),
];

/**
 * The tutorial's authentication routes: register, activate, obtain, refresh and verify.
 * Only logout reads the Authorization header (djangorestframework-jwt's views do not either).
 */
import { and, eq, sql } from 'drizzle-orm';
import { Hono, type Context } from 'hono';
import * as z from 'zod';
import type { Settings } from '../config';
import { getDb, isConstraintViolation, type Database } from '../db/client';
import { users } from '../db/schema';
import type { AppEnv } from '../env';
import { detail, fieldErrors, nonFieldError } from '../errors';
import { charField, emailField, passwordField, USERNAME_MAX_LENGTH, usernameField } from '../fields';
import { authenticate, unauthorizedOnTokenError } from '../auth/middleware';
import { caller, requireUser } from '../auth/permissions';
import { passwordProblems } from '../auth/password-rules';
import { hashPassword, UnsupportedPasswordHash, verifyAgainstDummy, verifyPassword } from '../auth/passwords';
import {
  issueAccessToken,
  issueActivationToken,
  refreshHasExpired,
  TokenError,
  verifyAccessToken,
  verifyActivationToken,
  type AccessClaims,
} from '../auth/tokens';
import type { Operation } from '../openapi/document';
import { limitPerIp, throttle } from '../http/rate-limit';
import { validBody } from '../validate';

const registerBody = z.object({ username: usernameField(), password: passwordField(), email: emailField() });
const credentialsBody = z.object({
  username: charField({ maxLength: USERNAME_MAX_LENGTH }),
  password: passwordField(),
});
const tokenBody = z.object({ token: charField({ maxLength: 8192 }) });

const INVALID_CREDENTIALS = 'Unable to log in with provided credentials.';
const TOKEN_REVOKED = 'Token has been revoked.';

export const authRoutes = new Hono<AppEnv>();

const activationUrl = (settings: Settings, token: string) => `${settings.siteUrl}/api-activate/${token}/`;

authRoutes.post('/api-register', limitPerIp('register'), async (c) => {
  const settings = c.var.settings;
  if (!settings.registrationOpen) throw detail(403, 'Registration is closed.');
  const { username, password, email } = await validBody(c, registerBody);
  const problems = passwordProblems(password, { username, email });
  if (problems.length > 0) throw fieldErrors({ password: problems });
  const activationJti = crypto.randomUUID();
  let created: { id: number } | undefined;
  try {
    [created] = await getDb(c.env.DB)
      .insert(users)
      .values({ username, email, password: await hashPassword(password), isActive: false, activationJti })
      .returning({ id: users.id });
  } catch (error) {
    // The unique index settles concurrent registrations of one name: one wins, the rest land here.
    if (isConstraintViolation(error, 'UNIQUE constraint failed: users.username')) {
      throw fieldErrors({ username: ['A user with that username already exists.'] });
    }
    throw error;
  }
  const token = await issueActivationToken(created!.id, activationJti, settings);
  return c.json({ confirmation_url: activationUrl(settings, token) }, 201);
});

/** Activates the user the token names, once: the stored `jti` is cleared in the same statement. */
async function activate(c: Context<AppEnv>, token: string) {
  const claims = await unauthorizedOnTokenError(verifyActivationToken(token, c.var.settings));
  const activated = await getDb(c.env.DB)
    .update(users)
    .set({ isActive: true, activationJti: null })
    .where(and(eq(users.id, claims.userId), eq(users.activationJti, claims.jti)))
    .returning({ id: users.id });
  if (activated.length === 0) throw detail(400, 'This activation link has already been used.');
  return c.json(['User Activated'], 200);
}

authRoutes.get('/api-activate/:token', limitPerIp('activate'), (c) => activate(c, c.req.param('token')));

authRoutes.post('/api-activate', limitPerIp('activate'), async (c) =>
  activate(c, (await validBody(c, tokenBody)).token),
);

async function obtainToken(c: Context<AppEnv>) {
  const { username, password } = await validBody(c, credentialsBody);
  await throttle(c, 'RATE_LIMIT_USERNAME', `obtain:${username.normalize('NFKC')}`);
  const user = await getDb(c.env.DB).query.users.findFirst({
    columns: { id: true, username: true, password: true, isActive: true, isStaff: true, tokenVersion: true },
    where: eq(users.username, username.normalize('NFKC')),
  });
  // Every failure does the same PBKDF2 work and answers the same body: nothing tells an unknown
  // username from a wrong password or an inactive account.
  let passwordMatches = false;
  if (!user) {
    passwordMatches = await verifyAgainstDummy(password);
  } else {
    try {
      passwordMatches = await verifyPassword(password, user.password);
    } catch (error) {
      if (!(error instanceof UnsupportedPasswordHash)) throw error;
      console.error(`User ${user.id} cannot log in: ${error.message}. Set a new password for this user.`);
    }
  }
  if (!user || !passwordMatches || !user.isActive) throw nonFieldError(INVALID_CREDENTIALS);
  return c.json({ token: await issueAccessToken(user, c.var.settings) });
}

authRoutes.post('/api-auth', limitPerIp('obtain'), obtainToken);
authRoutes.post('/auth/obtain_token', limitPerIp('obtain'), obtainToken);

/** The claims of a still-valid access token; 400 in DRF's shape otherwise. */
async function verifiedClaims(token: string, settings: Settings): Promise<AccessClaims> {
  try {
    return await verifyAccessToken(token, settings);
  } catch (error) {
    if (error instanceof TokenError) throw nonFieldError(error.message, error);
    throw error;
  }
}

/**
 * The user a token names, who must still exist and be active (as djangorestframework-jwt checks)
 * and must not have revoked the token since (logout, password change).
 */
async function activeUser(db: Database, claims: AccessClaims) {
  const user = await db.query.users.findFirst({
    columns: { id: true, username: true, isActive: true, isStaff: true, tokenVersion: true },
    where: eq(users.id, claims.userId),
  });
  if (!user) throw nonFieldError("User doesn't exist.");
  if (!user.isActive) throw nonFieldError('User account is disabled.');
  if (user.tokenVersion !== claims.tokenVersion) throw nonFieldError(TOKEN_REVOKED);
  return user;
}

authRoutes.post('/auth/refresh_token', limitPerIp('refresh'), async (c) => {
  const settings = c.var.settings;
  if (!settings.jwtAllowRefresh) throw detail(403, 'Token refresh is disabled.');
  const { token } = await validBody(c, tokenBody);
  const claims = await verifiedClaims(token, settings);
  await throttle(c, 'RATE_LIMIT_USERNAME', `refresh:${claims.userId}`);
  if (refreshHasExpired(claims.origIat, settings)) throw nonFieldError('Refresh has expired.');
  const user = await activeUser(getDb(c.env.DB), claims);
  return c.json({ token: await issueAccessToken(user, settings, { origIat: claims.origIat }) });
});

/** Ends every refresh chain of the caller: tokens carrying the old version no longer refresh. */
authRoutes.post('/auth/logout', authenticate, requireUser, async (c) => {
  await getDb(c.env.DB)
    .update(users)
    .set({ tokenVersion: sql`${users.tokenVersion} + 1` })
    .where(eq(users.id, caller(c).id));
  return c.body(null, 204);
});

authRoutes.post('/auth/verify_token', async (c) => {
  const { token } = await validBody(c, tokenBody);
  const claims = await verifiedClaims(token, c.var.settings);
  await activeUser(getDb(c.env.DB), claims);
  return c.json({ token });
});

const tokenOperation = (path: string, summary: string, description?: string): Operation => ({
  method: 'post',
  path,
  tag: 'auth',
  summary,
  description,
  body: credentialsBody,
  responses: { 200: 'Token', 400: 'FieldErrors' },
});

export const authOperations: Operation[] = [
  {
    method: 'post',
    path: '/api-register/',
    tag: 'auth',
    summary: 'Register an inactive user; the answer holds the activation link',
    body: registerBody,
    description: "The password must pass Django's default validators; 403 when REGISTRATION_OPEN is false.",
    responses: { 201: 'ConfirmationUrl', 400: 'FieldErrors', 403: 'Detail' },
  },
  {
    method: 'get',
    path: '/api-activate/{token}/',
    tag: 'auth',
    summary: 'Activate the user of an activation link (works once)',
    responses: { 200: 'UserActivated', 400: 'Detail', 401: 'Detail' },
  },
  {
    method: 'post',
    path: '/api-activate/',
    tag: 'auth',
    summary: 'Activate with the token in the body, for a single-page confirm page',
    body: tokenBody,
    responses: { 200: 'UserActivated', 400: 'FieldErrors', 401: 'Detail' },
  },
  tokenOperation('/api-auth/', "Obtain an access token (the tutorial's path)"),
  tokenOperation(
    '/auth/obtain_token/',
    'Obtain an access token',
    'Inactive users cannot log in; every failure answers the same 400.',
  ),
  {
    method: 'post',
    path: '/auth/refresh_token/',
    tag: 'auth',
    summary: 'Exchange a still-valid access token for a new one with the same orig_iat',
    body: tokenBody,
    responses: { 200: 'Token', 400: 'FieldErrors', 403: 'Detail' },
  },
  {
    method: 'post',
    path: '/auth/logout/',
    tag: 'auth',
    summary: "End every refresh chain of the caller's tokens",
    description: 'Tokens issued before stop refreshing; with JWT_REVOCATION_CHECK on, they stop working at once.',
    auth: 'required',
    responses: { 204: null, 401: 'Detail' },
  },
  {
    method: 'post',
    path: '/auth/verify_token/',
    tag: 'auth',
    summary: 'Check an access token',
    body: tokenBody,
    responses: { 200: 'Token', 400: 'FieldErrors' },
  },
];

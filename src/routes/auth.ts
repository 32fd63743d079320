/**
 * The tutorial's authentication routes: register, activate, obtain, refresh and verify.
 * None of them reads the Authorization header (djangorestframework-jwt's views do not either).
 */
import { and, eq } from 'drizzle-orm';
import { Hono, type Context } from 'hono';
import * as z from 'zod';
import type { Settings } from '../config';
import { getDb, isConstraintViolation, type Database } from '../db/client';
import { users } from '../db/schema';
import type { AppEnv } from '../env';
import { detail, fieldErrors, nonFieldError } from '../errors';
import { charField, emailField, passwordField, usernameField } from '../fields';
import { unauthorizedOnTokenError } from '../auth/middleware';
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
import { validBody } from '../validate';

const registerBody = z.object({ username: usernameField(), password: passwordField(), email: emailField() });
const credentialsBody = z.object({ username: charField({ maxLength: 150 }), password: passwordField() });
const tokenBody = z.object({ token: charField({ maxLength: 8192 }) });

const INVALID_CREDENTIALS = 'Unable to log in with provided credentials.';

export const authRoutes = new Hono<AppEnv>();

const activationUrl = (settings: Settings, token: string) => `${settings.siteUrl}/api-activate/${token}/`;

authRoutes.post('/api-register', async (c) => {
  const { username, password, email } = await validBody(c, registerBody);
  const settings = c.var.settings;
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

authRoutes.get('/api-activate/:token', (c) => activate(c, c.req.param('token')));

authRoutes.post('/api-activate', async (c) => activate(c, (await validBody(c, tokenBody)).token));

async function obtainToken(c: Context<AppEnv>) {
  const { username, password } = await validBody(c, credentialsBody);
  const user = await getDb(c.env.DB).query.users.findFirst({
    columns: { id: true, username: true, password: true, isActive: true, isStaff: true },
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

authRoutes.post('/api-auth', obtainToken);
authRoutes.post('/auth/obtain_token', obtainToken);

/** The claims of a still-valid access token; 400 in DRF's shape otherwise. */
async function verifiedClaims(token: string, settings: Settings): Promise<AccessClaims> {
  try {
    return await verifyAccessToken(token, settings);
  } catch (error) {
    if (error instanceof TokenError) throw nonFieldError(error.message, error);
    throw error;
  }
}

/** The user a token names, who must still exist and be active (as djangorestframework-jwt checks). */
async function activeUser(db: Database, userId: number) {
  const user = await db.query.users.findFirst({
    columns: { id: true, username: true, isActive: true, isStaff: true },
    where: eq(users.id, userId),
  });
  if (!user) throw nonFieldError("User doesn't exist.");
  if (!user.isActive) throw nonFieldError('User account is disabled.');
  return user;
}

authRoutes.post('/auth/refresh_token', async (c) => {
  const settings = c.var.settings;
  if (!settings.jwtAllowRefresh) throw detail(403, 'Token refresh is disabled.');
  const { token } = await validBody(c, tokenBody);
  const claims = await verifiedClaims(token, settings);
  if (refreshHasExpired(claims.origIat, settings)) throw nonFieldError('Refresh has expired.');
  const user = await activeUser(getDb(c.env.DB), claims.userId);
  return c.json({ token: await issueAccessToken(user, settings, { origIat: claims.origIat }) });
});

authRoutes.post('/auth/verify_token', async (c) => {
  const { token } = await validBody(c, tokenBody);
  const claims = await verifiedClaims(token, c.var.settings);
  await activeUser(getDb(c.env.DB), claims.userId);
  return c.json({ token });
});

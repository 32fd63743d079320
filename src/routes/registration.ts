/** The tutorial's sign-up: register an inactive user, then activate it with the mailed (or answered) link. */
import { and, eq } from 'drizzle-orm';
import type { Context } from 'hono';
import * as z from 'zod';
import { unauthorizedOnTokenError } from '../auth/middleware';
import { passwordProblems } from '../auth/password-rules';
import { hashPassword } from '../auth/passwords';
import { issueActivationToken, verifyActivationToken } from '../auth/tokens';
import type { Settings } from '../config';
import { getDb, isConstraintViolation } from '../db/client';
import { users } from '../db/schema';
import { detail, fieldErrors, invalidToken } from '../drf/errors';
import { emailField, passwordField, usernameField } from '../drf/fields';
import type { AppEnv } from '../env';
import { defineRoute } from '../http/route';
import { MAX_TOKEN_LENGTH } from '../limits';
import { tokenBody } from './token-body';

const registerBody = z.object({ username: usernameField(), password: passwordField(), email: emailField() });

const activationUrl = (settings: Settings, token: string) => `${settings.siteUrl}/api-activate/${token}/`;

/** Activates the user the token names, once: the stored `jti` is cleared in the same statement. */
async function activate(c: Context<AppEnv>, token: string) {
  if (token.length > MAX_TOKEN_LENGTH) throw invalidToken('Error decoding signature.');
  const claims = await unauthorizedOnTokenError(verifyActivationToken(token, c.var.settings));
  const activated = await getDb(c.env.DB)
    .update(users)
    .set({ isActive: true, activationJti: null })
    .where(and(eq(users.id, claims.userId), eq(users.activationJti, claims.jti)))
    .returning({ id: users.id });
  if (activated.length === 0) throw detail(400, 'This activation link has already been used.');
  return c.json(['User Activated'], 200);
}

export const registrationRoutes = [
  defineRoute({
    method: 'post',
    path: '/api-register/',
    tag: 'auth',
    summary: 'Register an inactive user; the answer holds the activation link',
    description: "The password must pass Django's default validators; 403 when REGISTRATION_OPEN is false.",
    auth: 'none',
    rateLimit: 'register',
    body: registerBody,
    responses: { 201: 'ConfirmationUrl', 403: 'Detail' },
    handler: async (c, input) => {
      const settings = c.var.settings;
      if (!settings.registrationOpen) throw detail(403, 'Registration is closed.');
      const { username, password, email } = await input.body();
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
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api-activate/{token}/',
    tag: 'auth',
    summary: 'Activate the user of an activation link (works once)',
    auth: 'none',
    rateLimit: 'activate',
    head: false,
    responses: { 200: 'UserActivated', 400: 'Detail', 401: 'Detail' },
    handler: (c, input) => activate(c, input.param('token')),
  }),
  defineRoute({
    method: 'post',
    path: '/api-activate/',
    tag: 'auth',
    summary: 'Activate with the token in the body, for a single-page confirm page',
    auth: 'none',
    rateLimit: 'activate',
    body: tokenBody,
    responses: { 200: 'UserActivated', 401: 'Detail' },
    handler: async (c, input) => activate(c, (await input.body()).token),
  }),
];

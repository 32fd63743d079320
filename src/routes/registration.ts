/** The tutorial's sign-up: register an inactive user, then activate it with the mailed (or answered) link. */
import { and, eq, or, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import * as z from 'zod';
import { auditStatement } from '../audit/record';
import { unauthorizedOnTokenError } from '../auth/middleware';
import { passwordProblems } from '../auth/password-rules';
import { hashPassword } from '../auth/passwords';
import { issueActivationToken, verifyActivationToken } from '../auth/tokens';
import type { Settings } from '../config';
import { isConstraintViolation } from '../db/client';
import { users } from '../db/schema';
import { emailIs, isStaleRegistration, renewActivation } from '../db/users';
import { detail, fieldErrors, invalidToken } from '../drf/errors';
import { charField, emailField, passwordField, USERNAME_MAX_LENGTH, usernameField } from '../drf/fields';
import type { AppEnv } from '../env';
import { throttle } from '../http/rate-limit';
import { defineRoute } from '../http/route';
import { MAX_TOKEN_LENGTH } from '../limits';
import { sendAfterResponse } from '../mail/mailer';
import { activationMail } from '../mail/messages';
import { tokenBody } from './token-body';

const registerBody = z.object({ username: usernameField(), password: passwordField(), email: emailField() });
const resendBody = z
  .object({ email: emailField().optional(), username: charField({ maxLength: USERNAME_MAX_LENGTH }).optional() })
  .refine((body) => body.email !== undefined || body.username !== undefined, {
    error: 'Give the email or the username of the account.',
  });

const activationUrl = (settings: Settings, token: string) => `${settings.siteUrl}/api-activate/${token}/`;
/** The app's confirm page, which POSTs the token: mail scanners pre-open GET links. */
const appActivationUrl = (settings: Settings, token: string) => `${settings.siteUrl}/app/activate/${token}`;

const RESEND_ANSWER = 'If an account with that email or username is waiting for activation, a new link is on its way.';

const ACTIVATION_MAILED = 'Check your email for a link to activate your account.';

/** Activates the user the token names, once: the stored `jti` is cleared in the same statement. */
async function activate(c: Context<AppEnv>, token: string) {
  if (token.length > MAX_TOKEN_LENGTH) throw invalidToken('Error decoding signature.');
  const claims = await unauthorizedOnTokenError(verifyActivationToken(token, c.get('settings')));
  const db = c.get('db');
  const subject = { id: claims.userId };
  const [activated] = await db.batch([
    db
      .update(users)
      // A link that was mailed proves the address; one in the registration's answer does not.
      .set({
        isActive: true,
        activationJti: null,
        ...(c.get('settings').activationDelivery === 'email' ? { emailVerified: true } : {}),
      })
      .where(and(eq(users.id, claims.userId), eq(users.activationJti, claims.jti)))
      .returning({ id: users.id }),
    auditStatement(c, { kind: 'user.activated', actor: subject, subject }, 'ifChanged'),
  ]);
  if (activated.length === 0) throw detail(400, 'This activation link has already been used.');
  return c.json(['User Activated'], 200);
}

export const registrationRoutes = [
  defineRoute({
    method: 'post',
    path: '/api-register/',
    tag: 'auth',
    summary: 'Register an inactive user; the answer holds the activation link, or it is mailed',
    description:
      "The password must pass Django's default validators; 403 when REGISTRATION_OPEN is false. " +
      'With ACTIVATION_DELIVERY=email the answer is `{"detail"}` and the link goes to the email address.',
    auth: 'none',
    rateLimit: 'register',
    body: registerBody,
    responses: { 201: 'Registered', 403: 'Detail' },
    handler: async (c, input) => {
      const settings = c.get('settings');
      if (!settings.registrationOpen) throw detail(403, 'Registration is closed.');
      const { username, password, email } = await input.body();
      const problems = passwordProblems(password, { username, email });
      if (problems.length > 0) throw fieldErrors({ password: problems });
      const activationJti = crypto.randomUUID();
      const now = new Date();
      const activationExpiresAt = new Date(now.getTime() + settings.activationExpirationDelta * 1000);
      const passwordHash = await hashPassword(password);
      const db = c.get('db');
      let created: { id: number } | undefined;
      try {
        // One round trip: a never-activated account whose link expired gives up its username
        // and email to this registration; any other holder of the username makes it fail.
        [, [created]] = await db.batch([
          db
            .delete(users)
            .where(
              and(
                or(eq(users.username, username), emailIs(email)),
                isStaleRegistration(now, settings.activationExpirationDelta),
              ),
            ),
          db
            .insert(users)
            .values({ username, email, password: passwordHash, isActive: false, activationJti, activationExpiresAt })
            .returning({ id: users.id }),
          auditStatement(c, {
            kind: 'user.registered',
            actor: null,
            subject: { id: sql`last_insert_rowid()`, username },
            details: { email },
          }),
        ]);
      } catch (error) {
        // The unique index settles concurrent registrations of one name: one wins, the rest land here.
        if (isConstraintViolation(error, 'UNIQUE constraint failed: users.username')) {
          throw fieldErrors({ username: ['A user with that username already exists.'] });
        }
        throw error;
      }
      const token = await issueActivationToken(created!.id, activationJti, settings, now);
      if (settings.activationDelivery === 'response') {
        return c.json({ confirmation_url: activationUrl(settings, token) }, 201);
      }
      await sendAfterResponse(
        c,
        activationMail(email, username, appActivationUrl(settings, token), settings.activationExpirationDelta),
      );
      return c.json({ detail: ACTIVATION_MAILED }, 201);
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
  defineRoute({
    method: 'post',
    path: '/api-activate/resend/',
    tag: 'auth',
    summary: 'Mail a fresh activation link to a never-activated account',
    description:
      'Body `{"email"}` or `{"username"}`. The same answer whether or not an account matches; the older ' +
      'link stops working. Accounts that staff deactivated get nothing.',
    auth: 'none',
    rateLimit: 'resend',
    body: resendBody,
    responses: { 200: 'Detail' },
    handler: async (c, input) => {
      const settings = c.get('settings');
      const body = await input.body();
      const target = body.email !== undefined ? { email: body.email } : { username: body.username!.normalize('NFKC') };
      await throttle(c, 'RATE_LIMIT_USERNAME', `resend:${target.email ?? target.username}`);
      const now = new Date();
      const jti = crypto.randomUUID();
      const expiresAt = new Date(now.getTime() + settings.activationExpirationDelta * 1000);
      for (const account of await renewActivation(c.get('db'), target, jti, expiresAt)) {
        const token = await issueActivationToken(account.id, jti, settings, now);
        const link = appActivationUrl(settings, token);
        await sendAfterResponse(
          c,
          activationMail(account.email, account.username, link, settings.activationExpirationDelta),
        );
      }
      return c.json({ detail: RESEND_ANSWER });
    },
  }),
];

/**
 * Password reset by email: a request mails a single-use link to the app's reset page, which
 * confirms with the token and a new password. The link is its own token kind, names the password
 * it may replace (so it dies with any password change) and lasts PASSWORD_RESET_EXPIRATION_DELTA.
 */
import { and, eq, sql } from 'drizzle-orm';
import * as z from 'zod';
import { auditStatement } from '../audit/record';
import { passwordProblems } from '../auth/password-rules';
import { fingerprintsMatch, hashPassword, passwordFingerprint } from '../auth/passwords';
import { issuePasswordResetToken, TokenError, verifyPasswordResetToken } from '../auth/tokens';
import { users } from '../db/schema';
import { findActiveByEmail, findResetTarget } from '../db/users';
import { fieldErrors } from '../drf/errors';
import { charField, emailField, passwordField } from '../drf/fields';
import { throttle } from '../http/rate-limit';
import { defineRoute } from '../http/route';
import { MAX_TOKEN_LENGTH } from '../limits';
import { sendAfterResponse } from '../mail/mailer';
import { passwordResetMail } from '../mail/messages';
import { noticeAfterResponse } from '../mail/notices';

const REQUEST_ANSWER = 'If an account uses that email, a link to reset its password is on its way.';
const INVALID_LINK = 'The password reset link was invalid, possibly because it has already been used.';

const invalidLink = () => fieldErrors({ token: [INVALID_LINK] });

export const passwordResetRoutes = [
  defineRoute({
    method: 'post',
    path: '/auth/password/reset/',
    tag: 'auth',
    summary: 'Mail a single-use password reset link',
    description: 'Body `{"email"}`. The same answer whether or not an account uses the address.',
    auth: 'none',
    rateLimit: 'reset',
    body: z.object({ email: emailField() }),
    responses: { 200: 'Detail' },
    handler: async (c, input) => {
      const settings = c.get('settings');
      const { email } = await input.body();
      await throttle(c, 'RATE_LIMIT_USERNAME', `reset:${email.toLowerCase()}`);
      for (const user of await findActiveByEmail(c.get('db'), email)) {
        const token = await issuePasswordResetToken(user.id, await passwordFingerprint(user.password), settings);
        const link = `${settings.siteUrl}/app/password-reset/${token}`;
        await sendAfterResponse(
          c,
          passwordResetMail(user.email, user.username, link, settings.passwordResetExpirationDelta),
        );
      }
      return c.json({ detail: REQUEST_ANSWER });
    },
  }),
  defineRoute({
    method: 'post',
    path: '/auth/password/reset/confirm/',
    tag: 'auth',
    summary: 'Set a new password with a reset link',
    description:
      'Body `{"token", "new_password"}`. The password rules apply; every refresh chain of the user ends; the link then stops working.',
    auth: 'none',
    rateLimit: 'reset',
    body: z.object({ token: charField({ maxLength: MAX_TOKEN_LENGTH }), new_password: passwordField() }),
    responses: { 200: 'Detail' },
    handler: async (c, input) => {
      const { token, new_password: newPassword } = await input.body();
      const claims = await verifyPasswordResetToken(token, c.get('settings')).catch((error: unknown) => {
        throw error instanceof TokenError ? invalidLink() : error;
      });
      const db = c.get('db');
      const user = await findResetTarget(db, claims.userId);
      if (!user?.isActive || !fingerprintsMatch(await passwordFingerprint(user.password), claims.passwordFingerprint)) {
        throw invalidLink();
      }
      const problems = passwordProblems(newPassword, user);
      if (problems.length > 0) throw fieldErrors({ new_password: problems });
      // Only where the password is still the one the link names: a second use, or a race with
      // another change, finds nothing to update.
      const [[changed]] = await db.batch([
        db
          .update(users)
          .set({ password: await hashPassword(newPassword), tokenVersion: sql`${users.tokenVersion} + 1` })
          .where(and(eq(users.id, user.id), eq(users.password, user.password)))
          .returning({ id: users.id }),
        auditStatement(c, { kind: 'password.reset', actor: user, subject: user }, 'ifChanged'),
      ]);
      if (!changed) throw invalidLink();
      await noticeAfterResponse(c, user.id, 'password.changed');
      return c.json({ detail: 'Your password has been set. You may log in now.' });
    },
  }),
];

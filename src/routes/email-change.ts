/**
 * Proving an address: the link mailed to a new address (an email change with mail delivery on)
 * or to the current one (POST /auth/email/verify/) sets it, verified. The link is its own token
 * kind, works once (its `jti` is stored with the user and cleared here; a newer request, or a
 * change of the address, replaces it) and lasts ACTIVATION_EXPIRATION_DELTA.
 */
import { and, eq } from 'drizzle-orm';
import { auditStatement } from '../audit/record';
import { issueEmailChangeToken, TokenError, verifyEmailChangeToken } from '../auth/tokens';
import { users } from '../db/schema';
import { findNoticeAddress } from '../db/users';
import { fieldErrors } from '../drf/errors';
import { defineRoute } from '../http/route';
import { sendAfterResponse } from '../mail/mailer';
import { emailVerifyMail } from '../mail/messages';
import { activeAccount } from './account';
import { tokenBody } from './token-body';

const INVALID_LINK = 'The email change link was invalid, possibly because it has already been used.';

export const emailChangeRoutes = [
  defineRoute({
    method: 'post',
    path: '/auth/email/confirm/',
    tag: 'auth',
    summary: 'Confirm a new email address with the link mailed to it',
    description:
      'Body `{"token"}`, from `SITE_URL/app/email/confirm/<token>`. The address becomes the one the link names, verified; the link then stops working, as do older ones.',
    auth: 'none',
    rateLimit: 'activate',
    body: tokenBody,
    responses: { 200: 'Detail' },
    handler: async (c, input) => {
      const { token } = await input.body();
      const claims = await verifyEmailChangeToken(token, c.get('settings')).catch((error: unknown) => {
        throw error instanceof TokenError ? fieldErrors({ token: [INVALID_LINK] }) : error;
      });
      const db = c.get('db');
      const subject = { id: claims.userId };
      const [[changed]] = await db.batch([
        db
          .update(users)
          .set({ email: claims.email, emailVerified: true, pendingEmail: null, emailChangeJti: null })
          .where(and(eq(users.id, claims.userId), eq(users.emailChangeJti, claims.jti), eq(users.isActive, true)))
          .returning({ id: users.id }),
        auditStatement(
          c,
          { kind: 'email.changed', actor: subject, subject, details: { email: claims.email, verified: true } },
          'ifChanged',
        ),
      ]);
      if (!changed) throw fieldErrors({ token: [INVALID_LINK] });
      return c.json({ detail: 'Your email address is confirmed.' });
    },
  }),
  defineRoute({
    method: 'post',
    path: '/auth/email/verify/',
    tag: 'auth',
    summary: "Mail a link that verifies the caller's current address",
    description:
      'For an address set without proof (ACTIVATION_DELIVERY=response, an import): the link, confirmed with POST /auth/email/confirm/, marks it verified. An older link stops working.',
    auth: 'required',
    rateLimit: 'resend',
    responses: { 200: 'Detail' },
    handler: async (c, { user }) => {
      await activeAccount(c, user);
      const db = c.get('db');
      const settings = c.get('settings');
      const account = await findNoticeAddress(db, user.id);
      if (!account || account.email === '') throw fieldErrors({ email: ['Set an email address first.'] });
      if (account.emailVerified) return c.json({ detail: 'This address is already verified.' });
      const jti = crypto.randomUUID();
      await db.update(users).set({ emailChangeJti: jti, pendingEmail: null }).where(eq(users.id, user.id));
      const token = await issueEmailChangeToken(user.id, account.email, jti, settings);
      const link = `${settings.siteUrl}/app/email/confirm/${token}`;
      await sendAfterResponse(
        c,
        emailVerifyMail(account.email, account.username, link, settings.activationExpirationDelta),
      );
      return c.json({ detail: 'A link to verify your address is on its way.' });
    },
  }),
];

/**
 * Confirming an email change (with mail delivery on): the link mailed to the new address sets
 * it, verified. The link is its own token kind, works once (its `jti` is stored with the user
 * and cleared here; a newer request replaces it) and lasts ACTIVATION_EXPIRATION_DELTA.
 */
import { and, eq } from 'drizzle-orm';
import { auditStatement } from '../audit/record';
import { TokenError, verifyEmailChangeToken } from '../auth/tokens';
import { users } from '../db/schema';
import { fieldErrors } from '../drf/errors';
import { defineRoute } from '../http/route';
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
      const claims = await verifyEmailChangeToken(token, c.var.settings).catch((error: unknown) => {
        throw error instanceof TokenError ? fieldErrors({ token: [INVALID_LINK] }) : error;
      });
      const db = c.var.db;
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
      return c.json({ detail: 'Your email address has been changed.' });
    },
  }),
];

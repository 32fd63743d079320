/**
 * The apps a user let sign them in (`/oauth/consents/`): what each may do, and withdrawing it,
 * which ends that app's grants for the user at once (its refresh tokens, and its access tokens at
 * their next use). The next sign-in through that app asks again.
 */
import { auditStatement } from '../audit/record';
import { findClient, listConsents, revokeConsent } from '../db/oauth';
import { notFound } from '../drf/errors';
import { defineRoute } from '../http/route';
import { SCOPES, storedScopes } from '../oauth/scopes';
import { activeAccount } from './account';

const PATH = '/oauth/consents/';

export const oauthConsentRoutes = [
  defineRoute({
    method: 'get',
    path: PATH,
    tag: 'oauth',
    summary: 'The apps the caller allowed to sign them in, and with which scopes',
    auth: 'required',
    responses: { 200: 'OAuthConsentList' },
    handler: async (c, { user }) => {
      const account = await activeAccount(c, user);
      const rows = await listConsents(c.get('db'), account.id);
      return c.json(
        rows.map((row) => ({
          client_id: row.clientId,
          name: row.name,
          scopes: storedScopes(row.scopes).map((scope) => ({ scope, description: SCOPES[scope] })),
          granted: row.grantedAt.toISOString(),
        })),
      );
    },
  }),
  defineRoute({
    method: 'delete',
    path: `${PATH}{client}/`,
    tag: 'oauth',
    summary: "Withdraw the caller's consent to an app: its tokens for the caller stop working",
    description: '404 when the caller has not allowed this app.',
    auth: 'required',
    responses: { 204: null },
    handler: async (c, { user, param }) => {
      await activeAccount(c, user);
      const db = c.get('db');
      const clientId = param('client');
      const client = await findClient(db, clientId);
      if (!client) throw notFound();
      const [deleteConsent, endGrants] = revokeConsent(db, user.id, clientId);
      const [withdrawn] = await db.batch([
        deleteConsent,
        auditStatement(
          c,
          {
            kind: 'oauth.consent_revoked',
            actor: user,
            subject: user,
            details: { client_id: clientId, name: client.name },
          },
          'ifChanged',
        ),
        endGrants,
      ]);
      if (withdrawn.length === 0) throw notFound();
      return c.body(null, 204);
    },
  }),
];

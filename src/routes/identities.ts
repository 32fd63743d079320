/**
 * A user's accounts at other providers: the list, unlinking one while another way to log in
 * remains, and linking another from the profile (a recent login; never by matching an email).
 */
import { eventOrigin } from '../audit/record';
import { requireRecentLogin } from '../auth/recent-login';
import { listIdentities, unlinkIdentity } from '../db/identities';
import { detail, notFound } from '../drf/errors';
import { ExternalLoginError } from '../external/client';
import { defineRoute } from '../http/route';
import { activeAccount } from './account';
import { providerOf, startExternalLogin } from './external';

export const identityRoutes = [
  defineRoute({
    method: 'get',
    path: '/auth/identities/',
    tag: 'external',
    summary: "The caller's linked accounts at other providers",
    auth: 'required',
    responses: { 200: 'IdentityList' },
    handler: async (c, { user }) => {
      await activeAccount(c, user);
      const names = new Map(c.get('settings').authProviders.map(({ id, name }) => [id, name]));
      const rows = await listIdentities(c.get('db'), user.id);
      return c.json(
        rows.map((row) => ({
          id: row.id,
          provider: row.provider,
          // A provider removed from AUTH_PROVIDERS since: its id.
          provider_name: names.get(row.provider) ?? row.provider,
          email: row.email,
          email_verified: row.emailVerified,
          created: row.createdAt.toISOString(),
          last_used: row.lastUsedAt?.toISOString() ?? null,
        })),
      );
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/auth/identities/{id}/',
    tag: 'external',
    summary: 'Unlink one of the caller’s accounts at another provider',
    description:
      'Needs a recent login (403 `reauth_required`). 400 while it is the only way to log in: set a password (the reset link works for a verified address) or add a passkey first.',
    auth: 'required',
    responses: { 204: null, 400: 'Detail', 403: 'Detail' },
    handler: async (c, { user, id }) => {
      await activeAccount(c, user);
      requireRecentLogin(user, c.get('settings'));
      const outcome = await unlinkIdentity(c.get('db'), user.id, id(), eventOrigin(c));
      if (!outcome.exists) throw notFound();
      if (!outcome.deleted) {
        throw detail(400, 'This is your only way to log in: set a password or add a passkey before unlinking it.');
      }
      return c.body(null, 204);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/auth/external/{provider}/link/',
    tag: 'external',
    summary: "Link an account at another provider to the caller's: where to send the browser",
    description:
      'Needs a recent login (403 `reauth_required`). Answers 200 `{"location"}` with the login cookie set (rather than a 302: the page calls it with its access token, which a navigation cannot carry); the browser then goes there, and the callback links the account and returns to /app/security?link=linked (or `in_use` when that account is already linked to another user).',
    auth: 'required',
    rateLimit: 'external',
    responses: { 200: 'ExternalLocation', 403: 'Detail', 503: 'Detail' },
    headers: { 200: { 'Set-Cookie': 'The login cookie (Path=/auth/external/, 10 minutes).' } },
    handler: async (c, { user, param }) => {
      await activeAccount(c, user);
      requireRecentLogin(user, c.get('settings'));
      const provider = providerOf(c, param('provider'));
      try {
        return c.json({ location: await startExternalLogin(c, provider, user.id) });
      } catch (error) {
        if (error instanceof ExternalLoginError)
          throw detail(503, 'The provider could not be reached. Try again later.');
        throw error;
      }
    },
  }),
];

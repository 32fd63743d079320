/**
 * RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): an app sends the browser to
 * GET /oauth/end-session, which checks where it may come back to and sends it to the app's page
 * /app/logout with the request signed. The page asks the user, ends the session (DELETE
 * /auth/session/, where the cookie goes), and asks POST /oauth/end-session/confirm/ where to go.
 */
import type { Context } from 'hono';
import * as z from 'zod';
import { issueLogoutRequest, verifyIdTokenHint, verifyLogoutRequest } from '../auth/oidc-tokens';
import { TokenError } from '../auth/tokens';
import { findClient, type OAuthClient } from '../db/oauth';
import { detail } from '../drf/errors';
import type { AppEnv } from '../env';
import { defineRoute } from '../http/route';
import { readParameters } from '../oauth/authorize';

const LOGOUT_PAGE = '/app/logout';

/** Our own page with the reason: a logout request that names no known client or URI never redirects. */
const refused = (c: Context<AppEnv>) =>
  c.redirect(`${c.get('settings').siteUrl}${LOGOUT_PAGE}?error=invalid_logout_request`, 302);

function withState(uri: string, state: string | undefined): string {
  const url = new URL(uri);
  if (state !== undefined) url.searchParams.set('state', state);
  return url.href;
}

async function endSession(c: Context<AppEnv>) {
  const settings = c.get('settings');
  const { parameters } = readParameters(c.req.queries(), [
    'id_token_hint',
    'client_id',
    'post_logout_redirect_uri',
    'state',
  ]);
  let client: OAuthClient | undefined;
  if (parameters.id_token_hint !== undefined) {
    try {
      const hint = await verifyIdTokenHint(parameters.id_token_hint, settings);
      if (parameters.client_id !== undefined && parameters.client_id !== hint.clientId) return refused(c);
      client = await findClient(c.get('db'), hint.clientId);
    } catch (error) {
      if (!(error instanceof TokenError)) throw error;
      return refused(c);
    }
  } else if (parameters.client_id !== undefined) {
    client = await findClient(c.get('db'), parameters.client_id);
  }
  const target = parameters.post_logout_redirect_uri;
  // A client's redirect URIs are also where it may ask to come back after a logout, exactly.
  if (target !== undefined && !client?.redirectUris.includes(target)) return refused(c);
  const redirectTo = target === undefined ? undefined : withState(target, parameters.state);
  const signed = await issueLogoutRequest({ clientName: client?.name, redirectTo }, settings);
  return c.redirect(`${settings.siteUrl}${LOGOUT_PAGE}?request=${signed}`, 302);
}

const confirmInput = z.object({ request: z.string({ error: 'This field is required.' }).max(8192) });

export const oauthLogoutRoutes = [
  defineRoute({
    method: 'get',
    path: '/oauth/end-session/',
    tag: 'oauth',
    summary: 'RP-initiated logout: an app asks to log the user out, and where to send them back',
    description:
      "Optional `id_token_hint` (an ID token we issued, expired or not), `client_id`, `post_logout_redirect_uri` (one of the client's registered redirect URIs, exactly) and `state`. Goes to /app/logout, which asks the user; a hint or URI that does not check out goes there with `?error=invalid_logout_request` and never back to the app.",
    auth: 'none',
    responses: { 302: null },
    headers: { 302: { Location: 'Where the browser goes next.' } },
    handler: endSession,
  }),
  defineRoute({
    method: 'post',
    path: '/oauth/end-session/confirm/',
    tag: 'oauth',
    summary: "The logout page's last step: which app asked, and where to send the browser",
    description:
      'For `request` from /app/logout?request=. The page ends the session itself (DELETE /auth/session/); `redirect_to` is null when the app asked for no return.',
    auth: 'none',
    body: confirmInput,
    responses: { 200: 'LogoutStep' },
    handler: async (c, { body }) => {
      try {
        const request = await verifyLogoutRequest((await body()).request, c.get('settings'));
        return c.json({ client_name: request.clientName ?? null, redirect_to: request.redirectTo ?? null });
      } catch (error) {
        if (!(error instanceof TokenError)) throw error;
        throw detail(400, 'This logout request has expired or is not valid.');
      }
    },
  }),
];

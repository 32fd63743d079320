/**
 * Staff register the apps that sign in with this service (`/oauth/clients/`): a client's secret is
 * shown once, in the answer that creates it, and stored as its SHA-256. `npm run oauth-client`
 * does the same from the command line.
 */
import { asc, eq } from 'drizzle-orm';
import * as z from 'zod';
import { auditStatement } from '../audit/record';
import { oauthClients } from '../db/schema';
import { notFound } from '../drf/errors';
import { booleanField, charField } from '../drf/fields';
import { pythonTypeName } from '../drf/python-types';
import { defineRoute } from '../http/route';
import { CLIENT_NAME_MAX_LENGTH, clientView, MAX_REDIRECT_URIS, newClient, redirectUriProblem } from '../oauth/clients';
import { requireStaffNow } from './account';

const PATH = '/oauth/clients/';

const clientInput = z
  .object({
    name: charField({ maxLength: CLIENT_NAME_MAX_LENGTH }),
    redirect_uris: z
      .array(z.string({ error: 'Not a valid string.' }), {
        error: (issue) =>
          issue.input === undefined
            ? 'This field is required.'
            : `Expected a list of items but got type "${pythonTypeName(issue.input)}".`,
      })
      .min(1, { error: 'This list may not be empty.' })
      .max(MAX_REDIRECT_URIS, { error: `Ensure this field has no more than ${MAX_REDIRECT_URIS} elements.` }),
    public: booleanField().optional(),
  })
  .superRefine((input, ctx) => {
    for (const uri of input.redirect_uris) {
      const problem = redirectUriProblem(uri, input.public ?? false);
      if (problem) ctx.addIssue({ code: 'custom', path: ['redirect_uris'], message: `${uri}: ${problem}` });
    }
  });

export const oauthClientRoutes = [
  defineRoute({
    method: 'post',
    path: PATH,
    tag: 'oauth',
    summary: 'Register an app that signs its users in with this service (staff)',
    description:
      'A confidential client (the default) gets a `client_secret`, shown in this answer only; a `public` one (a single-page or native app) has none and uses PKCE alone.',
    auth: 'required',
    body: clientInput,
    responses: { 201: 'OAuthClientCreated', 403: 'Detail' },
    handler: async (c, { user, body }) => {
      await requireStaffNow(c, user);
      const input = await body();
      const { row, secret } = await newClient({
        name: input.name,
        redirectUris: input.redirect_uris,
        isPublic: input.public ?? false,
      });
      const db = c.get('db');
      await db.batch([
        db.insert(oauthClients).values(row),
        auditStatement(c, {
          kind: 'staff.oauth_client_created',
          actor: user,
          subject: null,
          details: { client_id: row.clientId, name: row.name },
        }),
      ]);
      return c.json(clientView(row, secret), 201);
    },
  }),
  defineRoute({
    method: 'get',
    path: PATH,
    tag: 'oauth',
    summary: 'The registered apps (staff)',
    auth: 'required',
    responses: { 200: 'OAuthClientList', 403: 'Detail' },
    handler: async (c, { user }) => {
      await requireStaffNow(c, user);
      const clients = await c.get('db').select().from(oauthClients).orderBy(asc(oauthClients.createdAt)).limit(1000);
      return c.json(clients.map((client) => clientView(client)));
    },
  }),
  defineRoute({
    method: 'delete',
    path: `${PATH}{client}/`,
    tag: 'oauth',
    summary: 'Remove an app (staff): its consents, codes and grants go with it',
    auth: 'required',
    responses: { 204: null, 403: 'Detail' },
    handler: async (c, { user, param }) => {
      await requireStaffNow(c, user);
      const db = c.get('db');
      const [[removed]] = await db.batch([
        db
          .delete(oauthClients)
          .where(eq(oauthClients.clientId, param('client')))
          .returning({ clientId: oauthClients.clientId, name: oauthClients.name }),
        auditStatement(
          c,
          { kind: 'staff.oauth_client_deleted', actor: user, subject: null, details: { client_id: param('client') } },
          'ifChanged',
        ),
      ]);
      if (!removed) throw notFound();
      return c.body(null, 204);
    },
  }),
];

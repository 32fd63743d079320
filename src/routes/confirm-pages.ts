/**
 * The pages the mailed links open, until the single-page app serves `/app/` (issue 10): plain
 * HTML forms, no script, that POST the link's token to the API. Mail scanners that pre-open a
 * GET link therefore change nothing: only the button does.
 */
import { html } from 'hono/html';
import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { defineRoute } from '../http/route';

/** The pages hold a token: no cache may keep them. */
const noStore = (c: Context<AppEnv>) => {
  c.header('Cache-Control', 'no-store');
  return c;
};

const page = (title: string, form: ReturnType<typeof html>) =>
  html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title}</title>
      </head>
      <body>
        <h1>${title}</h1>
        ${form}
      </body>
    </html>`;

export const confirmPageRoutes = [
  defineRoute({
    method: 'get',
    path: '/app/activate/{token}',
    tag: 'app',
    summary: 'The page an activation mail links to: a button that POSTs the token to /api-activate/',
    auth: 'none',
    responses: { 200: 'Html' },
    handler: (c, { param }) =>
      noStore(c).html(
        page(
          'Activate your account',
          html`<form method="post" action="/api-activate/">
            <input type="hidden" name="token" value="${param('token')}" />
            <button type="submit">Activate</button>
          </form>`,
        ),
      ),
  }),
  defineRoute({
    method: 'get',
    path: '/app/password-reset/{token}',
    tag: 'app',
    summary: 'The page a password reset mail links to: a form that POSTs the new password',
    auth: 'none',
    responses: { 200: 'Html' },
    handler: (c, { param }) =>
      noStore(c).html(
        page(
          'Choose a new password',
          html`<form method="post" action="/auth/password/reset/confirm/">
            <input type="hidden" name="token" value="${param('token')}" />
            <label
              >New password <input type="password" name="new_password" autocomplete="new-password" required
            /></label>
            <button type="submit">Save</button>
          </form>`,
        ),
      ),
  }),
];

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

/** A GET route for a mailed link: a page whose form POSTs the link's token (and `fields`) to `action`. */
const linkPage = (
  path: string,
  summary: string,
  { title, action, fields, button }: { title: string; action: string; fields: ReturnType<typeof html>; button: string },
) =>
  defineRoute({
    method: 'get',
    path,
    tag: 'app',
    summary,
    auth: 'none',
    responses: { 200: 'Html' },
    handler: (c, { param }) =>
      noStore(c).html(
        page(
          title,
          html`<form method="post" action="${action}">
            <input type="hidden" name="token" value="${param('token')}" />
            ${fields}
            <button type="submit">${button}</button>
          </form>`,
        ),
      ),
  });

export const confirmPageRoutes = [
  linkPage(
    '/app/activate/{token}',
    'The page an activation mail links to: a button that POSTs the token to /api-activate/',
    { title: 'Activate your account', action: '/api-activate/', fields: html``, button: 'Activate' },
  ),
  linkPage(
    '/app/password-reset/{token}',
    'The page a password reset mail links to: a form that POSTs the new password',
    {
      title: 'Choose a new password',
      action: '/auth/password/reset/confirm/',
      fields: html`<label
        >New password <input type="password" name="new_password" autocomplete="new-password" required
      /></label>`,
      button: 'Save',
    },
  ),
];

/**
 * The app under /app/ for every client. The assets layer answers its index.html only to a
 * browser's navigation (Sec-Fetch-Mode: navigate); any other GET of an app path that is not a file
 * (`curl https://api.example.com/app/tasks/5`, a link-preview bot) reaches the Worker, which
 * answers the same index.html through the ASSETS binding, never the API's JSON 404.
 */
import type { Context } from 'hono';
import { notFound } from '../drf/errors';
import type { AppEnv } from '../env';

export async function serveAppShell(c: Context<AppEnv>): Promise<Response> {
  // The assets layer serves /app/ (its base path) as index.html.
  const shell = await c.env.ASSETS.fetch(new URL('/app/', c.req.url));
  // Only without a build of the app (npm test builds one; npm start and deploy do too).
  if (!shell.ok) throw notFound();
  // A copy, so the security-header middleware can add to its headers.
  return new Response(c.req.method === 'HEAD' ? null : shell.body, shell);
}

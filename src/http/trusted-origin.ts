/**
 * CSRF protection of the session routes: a browser names the page that sent a request in
 * `Origin`, and only pages of SITE_URL's origin or of CORS_ALLOWED_ORIGINS may use the session
 * cookie (`*` trusts no one here).
 */
import type { Context } from 'hono';
import { detail } from '../drf/errors';
import type { AppEnv } from '../env';
import { perSettings } from '../per-settings';

const trustedOrigins = perSettings(
  (settings) =>
    new Set([new URL(settings.siteUrl).origin, ...settings.corsAllowedOrigins.filter((origin) => origin !== '*')]),
);

/**
 * 403 in DRF's words unless the request's `Origin` is trusted. A request without one (a script,
 * curl) passes only where `required` is false: browsers always send it with a POST or DELETE.
 */
export function checkOrigin(c: Context<AppEnv>, { required }: { required: boolean }): void {
  const origin = c.req.header('Origin');
  if (origin === undefined) {
    if (required) throw detail(403, 'CSRF Failed: Origin header is missing.');
    return;
  }
  if (!trustedOrigins(c.get('settings')).has(origin)) {
    throw detail(403, `CSRF Failed: Origin checking failed - ${origin} does not match any trusted origins.`);
  }
}

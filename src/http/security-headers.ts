/**
 * The headers that lock down every page of the origin: the Worker's responses (app.ts) and the
 * files of the assets layer, through the `_headers` file the app's build writes
 * (app/vite.config.ts). Nothing a browser runs may come from another host.
 */

/**
 * The Content-Security-Policy. `connectTo`: origins besides our own that pages may call (a build
 * of the app hosted elsewhere calls the API's). `inlineStyles`: only for /docs, where Swagger UI
 * sets some.
 */
export function contentSecurityPolicy({
  connectTo = [],
  inlineStyles = false,
}: { connectTo?: string[]; inlineStyles?: boolean } = {}): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    inlineStyles ? "style-src 'self' 'unsafe-inline'" : "style-src 'self'",
    "img-src 'self' data:",
    ["connect-src 'self'", ...connectTo].join(' '),
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}

/** Features no page of the API or the app uses. */
const PERMISSIONS_POLICY = 'camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=()';

const REFERRER_POLICY = 'no-referrer';

/** Every header, for the Worker's responses and the assets layer's `_headers` file. */
export const securityHeaders = (connectTo: string[] = []): Record<string, string> => ({
  'Content-Security-Policy': contentSecurityPolicy({ connectTo }),
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': REFERRER_POLICY,
  'Permissions-Policy': PERMISSIONS_POLICY,
  'X-Frame-Options': 'DENY',
});

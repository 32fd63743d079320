/**
 * The apps registered with the OpenID Connect provider: what a registration may hold, and the
 * credentials it gets. Shared by the staff routes (src/routes/oauth-clients.ts) and by
 * `npm run oauth-client` (scripts/oauth-client.ts), so both accept exactly the same clients.
 */
// With extensions: scripts/oauth-client.ts runs this module in Node, which needs them.
import { hashSecret, newSecret } from '../auth/random-secrets.ts';

export const CLIENT_NAME_MAX_LENGTH = 100;
export const MAX_REDIRECT_URIS = 10;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** `http://127.0.0.1:PORT/...`, `http://[::1]:PORT/...` or `http://localhost:PORT/...`. */
export const isLoopbackUri = (url: URL) => url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);

/**
 * Why `uri` cannot be a redirect URI, or null. https anywhere; http only on a loopback host (a
 * native app's local server, RFC 8252 §7.3, or development); for a public client also a
 * private-use scheme in reverse-domain form (`com.example.app:/callback`, RFC 8252 §7.1). Never a
 * fragment (RFC 6749 §3.1.2), never credentials in the URL.
 */
export function redirectUriProblem(uri: string, isPublic: boolean): string | null {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'Enter a valid URL.';
  }
  if (url.hash !== '' || uri.includes('#')) return 'A redirect URI may not have a fragment.';
  if (url.username !== '' || url.password !== '') return 'A redirect URI may not hold credentials.';
  if (url.protocol === 'https:' || isLoopbackUri(url)) return null;
  if (url.protocol === 'http:') return 'Use https, or http on a loopback host (127.0.0.1, [::1], localhost).';
  if (isPublic && /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/.test(url.protocol)) return null;
  return isPublic
    ? 'Use https, http on a loopback host, or a private-use scheme such as com.example.app:/callback.'
    : 'Use https, or http on a loopback host (127.0.0.1, [::1], localhost).';
}

export interface ClientRegistration {
  name: string;
  redirectUris: string[];
  isPublic: boolean;
}

/** A new client's row, and its secret (shown once; a public client has none). */
export async function newClient({ name, redirectUris, isPublic }: ClientRegistration) {
  const clientId = newSecret().slice(0, 22);
  const secret = isPublic ? undefined : newSecret();
  return {
    row: { clientId, name, redirectUris, secretHash: secret === undefined ? null : await hashSecret(secret) },
    secret,
  };
}

/** A client as the API and the command line show it: `client_secret` only right after creation. */
export const clientView = (
  client: { clientId: string; name: string; redirectUris: string[]; secretHash: string | null },
  secret?: string,
) => ({
  client_id: client.clientId,
  ...(secret === undefined ? {} : { client_secret: secret }),
  name: client.name,
  redirect_uris: client.redirectUris,
  public: client.secretHash === null,
});

/**
 * What the token and revocation endpoints read first: the form body (RFC 6749 §3.2: parameters
 * as application/x-www-form-urlencoded, each once) and the client's authentication
 * (`client_secret_basic`, `client_secret_post`, or `none` for a public client).
 */
import type { Context } from 'hono';
import { hashSecret } from '../auth/random-secrets';
import { findClient, type OAuthClient } from '../db/oauth';
import { oauthError } from '../drf/errors';
import type { AppEnv } from '../env';

/** Whether `secret` is the one stored as `hash`, compared in constant time. */
async function matchesHash(secret: string, hash: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [given, expected] = [encoder.encode(await hashSecret(secret)), encoder.encode(hash)];
  return given.length === expected.length && crypto.subtle.timingSafeEqual(given, expected);
}

export const invalidRequest = (description: string) => oauthError(400, 'invalid_request', description);

/** The form's parameters; 400 `invalid_request` for another media type or a repeated parameter. */
export async function readForm(c: Context<AppEnv>): Promise<Record<string, string>> {
  const type = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw invalidRequest('Send the parameters as application/x-www-form-urlencoded.');
  }
  const form = new URLSearchParams(await c.req.text());
  const parameters: Record<string, string> = {};
  for (const [name, value] of form) {
    if (Object.hasOwn(parameters, name)) throw invalidRequest(`${name} was sent more than once.`);
    if (value !== '') parameters[name] = value;
  }
  return parameters;
}

/** RFC 6749 §2.3.1: the id and secret are form-encoded before they are joined and base64-encoded. */
function basicCredentials(header: string): { id: string; secret: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/]+=*)\s*$/i.exec(header);
  if (!match) return null;
  let decoded: string;
  try {
    decoded = atob(match[1]!);
  } catch {
    return null;
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  const formDecode = (text: string) => decodeURIComponent(text.replace(/\+/g, ' '));
  try {
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    return null;
  }
}

const invalidClient = (description: string) =>
  oauthError(401, 'invalid_client', description, { 'WWW-Authenticate': 'Basic realm="oauth"' });

/** The authenticated client; 401 `invalid_client` for anything else, the same for every failure. */
export async function authenticateClient(c: Context<AppEnv>, parameters: Record<string, string>): Promise<OAuthClient> {
  const header = c.req.header('Authorization');
  let id = parameters.client_id;
  let secret = parameters.client_secret;
  if (header !== undefined && header.trim() !== '') {
    const basic = basicCredentials(header);
    if (!basic) throw invalidClient('The Authorization header is not valid Basic credentials.');
    if (secret !== undefined) throw invalidRequest('Authenticate the client one way only.');
    if (id !== undefined && id !== basic.id) throw invalidClient('client_id does not match the credentials.');
    ({ id, secret } = basic);
  }
  if (id === undefined) throw invalidClient('Client authentication failed.');
  const client = await findClient(c.get('db'), id);
  const authenticated =
    client !== undefined &&
    (client.secretHash === null
      ? secret === undefined
      : secret !== undefined && (await matchesHash(secret, client.secretHash)));
  if (!authenticated) throw invalidClient('Client authentication failed.');
  return client;
}

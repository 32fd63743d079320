/**
 * The scopes a client may ask for, and what the consent page says of each. `openid` is required:
 * this is an OpenID Connect provider, and a request without it is refused.
 */
export const SCOPES = {
  openid: 'Know who you are on this service (your user id)',
  profile: 'See your username',
  email: 'See your email address, and whether it is verified',
  offline_access: 'Stay signed in when you are away (refresh tokens)',
  'tasks.read': 'Read your tasks',
  'tasks.write': 'Create, change and delete your tasks',
} as const;

export type Scope = keyof typeof SCOPES;

export const SUPPORTED_SCOPES = Object.keys(SCOPES) as Scope[];

const isScope = (value: string): value is Scope => Object.hasOwn(SCOPES, value);

/**
 * The scopes of a `scope` parameter, in our order and each once; null when one is unknown or
 * `openid` is missing (RFC 6749 §3.3: the server may refuse, and says which it supports).
 */
export function parseScopes(parameter: string | undefined): Scope[] | null {
  const asked = new Set((parameter ?? '').split(' ').filter((scope) => scope !== ''));
  if (!asked.has('openid') || ![...asked].every(isScope)) return null;
  return SUPPORTED_SCOPES.filter((scope) => asked.has(scope));
}

/** Stored space-separated; a row's scopes are ours, so unknown words are dropped, not trusted. */
export const storedScopes = (stored: string): Scope[] => stored.split(' ').filter(isScope);

/** True when every scope of `wanted` is in `granted`: a remembered consent covers the request. */
export const covers = (granted: readonly Scope[], wanted: readonly Scope[]) =>
  wanted.every((scope) => granted.includes(scope));

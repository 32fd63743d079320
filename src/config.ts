/**
 * The only reader of the Worker's environment: parses vars and secrets into a typed, frozen
 * Settings object, once per env object (i.e. once per isolate in production).
 */

export type ActivationDelivery = 'response' | 'email';

export interface Settings {
  readonly jwtSecret: Uint8Array;
  /** Seconds an access token stays valid. */
  readonly jwtExpirationDelta: number;
  /** Seconds after the first login (`orig_iat`) during which a token may be refreshed. */
  readonly jwtRefreshExpirationDelta: number;
  readonly jwtAllowRefresh: boolean;
  /** Lower-cased Authorization header prefixes, e.g. ['bearer', 'jwt']. */
  readonly jwtAuthHeaderPrefixes: readonly string[];
  readonly jwtIssuer: string | undefined;
  readonly jwtAudience: string | undefined;
  /** Seconds of clock skew tolerated when checking `exp`, `nbf` and `iat`. */
  readonly jwtLeeway: number;
  readonly activationExpirationDelta: number;
  readonly activationDelivery: ActivationDelivery;
  /** Public base URL without a trailing slash, e.g. `https://api.example.com`. */
  readonly siteUrl: string;
  readonly corsAllowedOrigins: readonly string[];
}

/** A setting that cannot be used; the message always starts with the setting's name. */
export class SettingsError extends Error {
  constructor(
    readonly setting: string,
    problem: string,
  ) {
    super(`${setting} ${problem}`);
    this.name = 'SettingsError';
  }
}

export const MIN_SECRET_BYTES = 32;

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses `300`, `300s`, `5m`, `1h` or `7d` into seconds. */
export function parseDuration(name: string, raw: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(raw.trim());
  if (!match) {
    throw new SettingsError(name, `must be a duration in seconds or like 5m, 1h, 7d (got "${raw}")`);
  }
  const seconds = Number(match[1]) * DURATION_UNITS[match[2] || 's']!;
  if (!Number.isSafeInteger(seconds)) throw new SettingsError(name, `is too large (got "${raw}")`);
  return seconds;
}

function parseBoolean(name: string, raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  throw new SettingsError(name, `must be true or false (got "${raw}")`);
}

function parseList(raw: string): string[] {
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function parseSiteUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new SettingsError('SITE_URL', `must be an absolute http(s) URL (got "${raw}")`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new SettingsError('SITE_URL', `must be an absolute http(s) URL (got "${raw}")`);
  }
  if (url.search || url.hash) throw new SettingsError('SITE_URL', 'must not have a query or fragment');
  return url.href.replace(/\/+$/, '');
}

function parseOrigins(raw: string): string[] {
  return parseList(raw).map((origin) => {
    if (origin === '*') return origin;
    try {
      const url = new URL(origin);
      if (url.origin !== 'null' && url.origin === origin.replace(/\/$/, '')) return url.origin;
    } catch {
      // reported below
    }
    throw new SettingsError('CORS_ALLOWED_ORIGINS', `must list origins like https://app.example.com or * (got "${origin}")`);
  });
}

function parseSecret(raw: string | undefined): Uint8Array {
  if (raw === undefined || raw === '') {
    throw new SettingsError('JWT_SECRET', 'is not set: run `wrangler secret put JWT_SECRET` (or `npm start` locally)');
  }
  const bytes = new TextEncoder().encode(raw);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new SettingsError('JWT_SECRET', `must be at least ${MIN_SECRET_BYTES} bytes long (got ${bytes.length})`);
  }
  return bytes;
}

function parseDelivery(raw: string): ActivationDelivery {
  const value = raw.trim();
  if (value === 'response') return value;
  if (value === 'email') {
    throw new SettingsError('ACTIVATION_DELIVERY', 'is "email", but email delivery is not available yet: use "response"');
  }
  throw new SettingsError('ACTIVATION_DELIVERY', `must be "response" or "email" (got "${raw}")`);
}

/** Reads every setting; throws a SettingsError naming the first one that is unusable. */
export function parseSettings(env: Record<string, unknown>): Settings {
  const text = (name: string, fallback: string): string => {
    const value = env[name];
    if (value === undefined || value === null) return fallback;
    // wrangler.toml passes `JWT_LEEWAY = 0` or `JWT_ALLOW_REFRESH = false` as a number or boolean.
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (typeof value !== 'string') throw new SettingsError(name, 'must be a string');
    return value;
  };
  const optionalText = (name: string): string | undefined => text(name, '').trim() || undefined;

  const prefixes = parseList(text('JWT_AUTH_HEADER_PREFIX', 'Bearer,JWT')).map((p) => p.toLowerCase());
  if (prefixes.length === 0 || prefixes.some((p) => /\s/.test(p))) {
    throw new SettingsError('JWT_AUTH_HEADER_PREFIX', 'must list one or more prefixes without spaces, like "Bearer,JWT"');
  }
  const siteUrl = text('SITE_URL', '');
  if (siteUrl.trim() === '') throw new SettingsError('SITE_URL', 'is not set: give the public base URL of the API');

  return Object.freeze({
    jwtSecret: parseSecret(env.JWT_SECRET as string | undefined),
    jwtExpirationDelta: parseDuration('JWT_EXPIRATION_DELTA', text('JWT_EXPIRATION_DELTA', '300')),
    jwtRefreshExpirationDelta: parseDuration('JWT_REFRESH_EXPIRATION_DELTA', text('JWT_REFRESH_EXPIRATION_DELTA', '7d')),
    jwtAllowRefresh: parseBoolean('JWT_ALLOW_REFRESH', text('JWT_ALLOW_REFRESH', 'true')),
    jwtAuthHeaderPrefixes: Object.freeze(prefixes),
    jwtIssuer: optionalText('JWT_ISSUER'),
    jwtAudience: optionalText('JWT_AUDIENCE'),
    jwtLeeway: parseDuration('JWT_LEEWAY', text('JWT_LEEWAY', '0')),
    activationExpirationDelta: parseDuration('ACTIVATION_EXPIRATION_DELTA', text('ACTIVATION_EXPIRATION_DELTA', '2h')),
    activationDelivery: parseDelivery(text('ACTIVATION_DELIVERY', 'response')),
    siteUrl: parseSiteUrl(siteUrl),
    corsAllowedOrigins: Object.freeze(parseOrigins(text('CORS_ALLOWED_ORIGINS', ''))),
  });
}

/** `build(settings)`, computed once per Settings object (so once per isolate) and remembered. */
export function perSettings<T>(build: (settings: Settings) => T): (settings: Settings) => T {
  const cache = new WeakMap<Settings, T>();
  return (settings) => {
    if (!cache.has(settings)) cache.set(settings, build(settings));
    return cache.get(settings)!;
  };
}

const settingsByEnv = new WeakMap<object, Settings | SettingsError>();

/**
 * Settings for this env object, parsed on first use and remembered (also when they are
 * unusable, so a misconfigured Worker does not re-parse on every request).
 */
export function getSettings(env: object): Settings {
  let cached = settingsByEnv.get(env);
  if (cached === undefined) {
    try {
      cached = parseSettings(env as Record<string, unknown>);
    } catch (error) {
      if (!(error instanceof SettingsError)) throw error;
      cached = error;
    }
    settingsByEnv.set(env, cached);
  }
  if (cached instanceof SettingsError) throw cached;
  return cached;
}

/**
 * The only reader of the Worker's environment: parses vars and secrets into a typed, frozen
 * Settings object, once per env object (i.e. once per isolate in production).
 */

export type ActivationDelivery = 'response' | 'email';

/** Signing algorithms: HS256 with shared secrets, or ES256 / EdDSA with private JWKs. */
export const JWT_ALGORITHMS = ['HS256', 'ES256', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** One key of JWT_SECRET: an HMAC secret, or a JSON Web Key (private, or public to verify only). */
export type KeyMaterial =
  { kind: 'secret'; bytes: Uint8Array } | { kind: 'jwk'; jwk: Readonly<Record<string, unknown>> };

export interface Settings {
  readonly jwtAlgorithm: JwtAlgorithm;
  /** The keys of JWT_SECRET: the first signs, all verify. */
  readonly jwtKeys: readonly KeyMaterial[];
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
  /** Check every authenticated request against the user's token version (one D1 read). */
  readonly jwtRevocationCheck: boolean;
  readonly registrationOpen: boolean;
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

const MIN_SECRET_BYTES = 32;

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
    throw new SettingsError(
      'CORS_ALLOWED_ORIGINS',
      `must list origins like https://app.example.com or * (got "${origin}")`,
    );
  });
}

const JWK_TYPES: Record<Exclude<JwtAlgorithm, 'HS256'>, { kty: string; crv: string }> = {
  ES256: { kty: 'EC', crv: 'P-256' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
};

/**
 * JWT_SECRET for HS256: one or more secrets of 32+ bytes, separated by commas. For ES256 and
 * EdDSA: a private JWK, or a JWK Set `{"keys": [...]}` whose first key is private (it signs) and
 * whose other keys, private or public, still verify.
 */
function parseKeys(raw: string | undefined, algorithm: JwtAlgorithm): KeyMaterial[] {
  if (raw === undefined || raw.trim() === '') {
    throw new SettingsError('JWT_SECRET', 'is not set: run `wrangler secret put JWT_SECRET` (or `npm start` locally)');
  }
  if (algorithm === 'HS256') {
    return raw.split(',').map((secret) => {
      const bytes = new TextEncoder().encode(secret.trim());
      if (bytes.length < MIN_SECRET_BYTES) {
        throw new SettingsError('JWT_SECRET', `must be at least ${MIN_SECRET_BYTES} bytes long (got ${bytes.length})`);
      }
      return { kind: 'secret', bytes };
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new SettingsError('JWT_SECRET', `must be a JWK or a JWK Set (JSON) when JWT_ALGORITHM is ${algorithm}`);
  }
  const jwks = (parsed as { keys?: unknown }).keys;
  const list = Array.isArray(jwks) ? jwks : [parsed];
  const expected = JWK_TYPES[algorithm];
  return list.map((jwk, index) => {
    if (typeof jwk !== 'object' || jwk === null || jwk.kty !== expected.kty || jwk.crv !== expected.crv) {
      throw new SettingsError(
        'JWT_SECRET',
        `key ${index + 1} must be a ${expected.kty} JWK on ${expected.crv} for ${algorithm}`,
      );
    }
    if (index === 0 && typeof jwk.d !== 'string') {
      throw new SettingsError('JWT_SECRET', 'must start with a private key (a JWK with "d"): it signs the tokens');
    }
    return { kind: 'jwk', jwk: Object.freeze({ ...jwk }) };
  });
}

function parseAlgorithm(raw: string): JwtAlgorithm {
  const algorithm = JWT_ALGORITHMS.find((name) => name === raw.trim());
  if (!algorithm)
    throw new SettingsError('JWT_ALGORITHM', `must be one of ${JWT_ALGORITHMS.join(', ')} (got "${raw}")`);
  return algorithm;
}

function parseDelivery(raw: string): ActivationDelivery {
  const value = raw.trim();
  if (value === 'response') return value;
  if (value === 'email') {
    throw new SettingsError(
      'ACTIVATION_DELIVERY',
      'is "email", but email delivery is not available yet: use "response"',
    );
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
    throw new SettingsError(
      'JWT_AUTH_HEADER_PREFIX',
      'must list one or more prefixes without spaces, like "Bearer,JWT"',
    );
  }
  const siteUrl = text('SITE_URL', '');
  if (siteUrl.trim() === '') throw new SettingsError('SITE_URL', 'is not set: give the public base URL of the API');

  const jwtAlgorithm = parseAlgorithm(text('JWT_ALGORITHM', 'HS256'));
  return Object.freeze({
    jwtAlgorithm,
    jwtKeys: Object.freeze(parseKeys(env.JWT_SECRET as string | undefined, jwtAlgorithm)),
    jwtExpirationDelta: parseDuration('JWT_EXPIRATION_DELTA', text('JWT_EXPIRATION_DELTA', '300')),
    jwtRefreshExpirationDelta: parseDuration(
      'JWT_REFRESH_EXPIRATION_DELTA',
      text('JWT_REFRESH_EXPIRATION_DELTA', '7d'),
    ),
    jwtAllowRefresh: parseBoolean('JWT_ALLOW_REFRESH', text('JWT_ALLOW_REFRESH', 'true')),
    jwtAuthHeaderPrefixes: Object.freeze(prefixes),
    jwtIssuer: optionalText('JWT_ISSUER'),
    jwtAudience: optionalText('JWT_AUDIENCE'),
    jwtLeeway: parseDuration('JWT_LEEWAY', text('JWT_LEEWAY', '0')),
    activationExpirationDelta: parseDuration('ACTIVATION_EXPIRATION_DELTA', text('ACTIVATION_EXPIRATION_DELTA', '2h')),
    activationDelivery: parseDelivery(text('ACTIVATION_DELIVERY', 'response')),
    siteUrl: parseSiteUrl(siteUrl),
    corsAllowedOrigins: Object.freeze(parseOrigins(text('CORS_ALLOWED_ORIGINS', ''))),
    jwtRevocationCheck: parseBoolean('JWT_REVOCATION_CHECK', text('JWT_REVOCATION_CHECK', 'false')),
    registrationOpen: parseBoolean('REGISTRATION_OPEN', text('REGISTRATION_OPEN', 'true')),
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

/**
 * The only reader of the Worker's environment: parses vars and secrets into a typed, frozen
 * Settings object, once per env object (i.e. once per isolate in production).
 *
 * A setting that cannot be used is a SettingsError that names the setting and says what is
 * wrong, never what its value is: the message reaches clients (500) and logs.
 */
import * as z from 'zod';
import {
  JWT_ALGORITHMS,
  parseKeyMaterial,
  parseOidcKeyMaterial,
  type JwtAlgorithm,
  type KeyMaterial,
} from './auth/key-material';
import { parseAuthProviders, type ExternalProvider } from './external/provider-settings';
import { SettingsError } from './settings-error';

type ActivationDelivery = 'response' | 'email';

export interface Settings {
  readonly jwtAlgorithm: JwtAlgorithm;
  /** The keys of JWT_SECRET: the first signs, all verify. */
  readonly jwtKeys: readonly KeyMaterial[];
  /** The RSA keys of OIDC_SIGNING_KEY (the OpenID Connect provider's): the first signs, all are published. */
  readonly oidcKeys: readonly KeyMaterial[];
  /** Seconds an access token stays valid. */
  readonly jwtExpirationDelta: number;
  /** Seconds after the first login (`orig_iat`) during which a token may be refreshed. */
  readonly jwtRefreshExpirationDelta: number;
  readonly jwtAllowRefresh: boolean;
  /**
   * Seconds during which a just-rotated session cookie still refreshes (two tabs refreshing at
   * once), without a new cookie; past it, presenting it again ends the session.
   */
  readonly sessionRotationGrace: number;
  /** Lower-cased Authorization header prefixes, e.g. ['bearer', 'jwt']. */
  readonly jwtAuthHeaderPrefixes: readonly string[];
  readonly jwtIssuer: string | undefined;
  readonly jwtAudience: string | undefined;
  /** Seconds of clock skew tolerated when checking `exp`, `nbf` and `iat`. */
  readonly jwtLeeway: number;
  readonly activationExpirationDelta: number;
  /** `response`: the link is in the 201 body (the tutorial); `email`: it is only mailed. */
  readonly activationDelivery: ActivationDelivery;
  readonly passwordResetExpirationDelta: number;
  /** How mail leaves: EMAIL_BACKEND, MAIL_FROM, and for `http` MAIL_HTTP_URL and the secret MAIL_API_KEY. */
  readonly mail: Readonly<{
    backend: 'binding' | 'http' | 'console';
    from: string;
    httpUrl: string | undefined;
    apiKey: string | undefined;
  }>;
  /** Public base URL without a trailing slash, e.g. `https://api.example.com`. */
  readonly siteUrl: string;
  readonly corsAllowedOrigins: readonly string[];
  /** Check every authenticated request against the user's token version (one D1 read). */
  readonly jwtRevocationCheck: boolean;
  readonly registrationOpen: boolean;
  /** Seconds after `auth_time` during which sensitive changes need no re-authentication. */
  readonly reauthMaxAge: number;
  /** Staff rights only for tokens whose `amr` has `mfa`. */
  readonly mfaRequiredForStaff: boolean;
  /** Days an audit event is kept; the Cron Trigger prunes older ones. */
  readonly auditRetentionDays: number;
  /** How long one D1 statement or batch may take before the request gives up with a 503. */
  readonly d1StatementTimeoutMs: number;
  /** AUTH_PROVIDERS, each with its secret: the providers people may sign in with. */
  readonly authProviders: readonly ExternalProvider[];
}

/** wrangler.toml passes `JWT_LEEWAY = 0` or `JWT_ALLOW_REFRESH = false` as a number or a boolean. */
const asText = (value: unknown) => (typeof value === 'number' || typeof value === 'boolean' ? String(value) : value);

/** A setting read as text (trimmed), with a fallback when it is absent. */
const text = <T extends z.ZodType<unknown, string>>(problem: string, schema: T, fallback?: string) =>
  z.preprocess(
    (value) => {
      const raw = asText(value ?? fallback);
      return typeof raw === 'string' ? raw.trim() : raw;
    },
    z.string({ error: problem }).pipe(schema),
  );

const DURATION = /^(\d+)\s*([smhd]?)$/;
const DURATION_UNITS = new Map([
  ['', 1],
  ['s', 1],
  ['m', 60],
  ['h', 3600],
  ['d', 86400],
]);
const DURATION_PROBLEM = 'must be a duration in seconds or like 5m, 1h, 7d';

/** `300`, `300s`, `5m`, `1h` or `7d`, in seconds. */
const duration = (fallback: string) =>
  text(
    DURATION_PROBLEM,
    z
      .string()
      .regex(DURATION, { error: DURATION_PROBLEM })
      .transform((raw) => {
        const [, amount, unit] = DURATION.exec(raw)!;
        return Number(amount) * DURATION_UNITS.get(unit!)!;
      })
      .refine(Number.isSafeInteger, { error: 'is too large' }),
    fallback,
  );

const BOOLEAN_PROBLEM = 'must be true or false';
const boolean = (fallback: string) => text(BOOLEAN_PROBLEM, z.stringbool({ error: BOOLEAN_PROBLEM }), fallback);

const list = (raw: string) =>
  raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

const SITE_URL_PROBLEM = 'must be an absolute http(s) URL without a query or fragment';
const siteUrl = text(
  'is not set: give the public base URL of the API',
  z
    .string()
    .min(1, { error: 'is not set: give the public base URL of the API' })
    .pipe(z.url({ protocol: /^https?$/, error: SITE_URL_PROBLEM }))
    .refine((raw) => !/[?#]/.test(raw), { error: SITE_URL_PROBLEM })
    .transform((raw) => new URL(raw).href.replace(/\/+$/, '')),
);

const ORIGINS_PROBLEM = 'must list origins like https://app.example.com, or *';
const isOrigin = (origin: string) => {
  if (origin === '*') return true;
  try {
    const url = new URL(origin);
    return url.origin !== 'null' && url.origin === origin.replace(/\/$/, '');
  } catch {
    return false;
  }
};
const origins = text(
  ORIGINS_PROBLEM,
  z
    .string()
    .transform(list)
    .refine((items) => items.every(isOrigin), { error: ORIGINS_PROBLEM })
    .transform((items) => items.map((origin) => (origin === '*' ? origin : new URL(origin).origin))),
  '',
);

const PREFIX_PROBLEM = 'must list one or more prefixes without spaces, like "Bearer,JWT"';
const prefixes = text(
  PREFIX_PROBLEM,
  z
    .string()
    .transform((raw) => list(raw).map((prefix) => prefix.toLowerCase()))
    .refine((items) => items.length > 0 && items.every((prefix) => !/\s/.test(prefix)), { error: PREFIX_PROBLEM }),
  'Bearer,JWT',
);

const optionalText = z.preprocess((value) => {
  const raw = asText(value);
  return typeof raw === 'string' && raw.trim() !== '' ? raw.trim() : undefined;
}, z.string().optional());

const ALGORITHM_PROBLEM = `must be one of ${JWT_ALGORITHMS.join(', ')}`;
const EMAIL_BACKENDS = ['binding', 'http', 'console'] as const;
const EMAIL_BACKEND_PROBLEM = `must be one of ${EMAIL_BACKENDS.join(', ')}`;
const MAIL_FROM_PROBLEM = 'must be an email address (on a domain your mail sender accepts)';
const DELIVERY_PROBLEM = 'must be "response" or "email"';
const RETENTION_PROBLEM = 'must be a whole number of days from 1 to 3650';
const D1_TIMEOUT_PROBLEM = 'must be a whole number of milliseconds from 1 to 60000';

const envSchema = z.object({
  JWT_ALGORITHM: text(ALGORITHM_PROBLEM, z.enum(JWT_ALGORITHMS, { error: ALGORITHM_PROBLEM }), 'HS256'),
  JWT_SECRET: z.preprocess(
    (value) => (typeof value === 'string' && value.trim() !== '' ? value : undefined),
    z.string({ error: 'is not set: run `wrangler secret put JWT_SECRET` (or `npm start` locally)' }),
  ),
  OIDC_SIGNING_KEY: z.preprocess(
    (value) => (typeof value === 'string' && value.trim() !== '' ? value : undefined),
    z.string({
      error:
        'is not set: run `npm run -s generate-key -- RS256 | npx wrangler secret put OIDC_SIGNING_KEY` (or `npm start` locally)',
    }),
  ),
  JWT_EXPIRATION_DELTA: duration('5m'),
  JWT_REFRESH_EXPIRATION_DELTA: duration('7d'),
  JWT_ALLOW_REFRESH: boolean('true'),
  // Longer would let a stolen cookie refresh unnoticed for that long after its owner's refresh.
  SESSION_ROTATION_GRACE: duration('10s').refine((seconds) => seconds <= 60, { error: 'must be at most 60s' }),
  JWT_AUTH_HEADER_PREFIX: prefixes,
  JWT_ISSUER: optionalText,
  JWT_AUDIENCE: optionalText,
  JWT_LEEWAY: duration('0'),
  ACTIVATION_EXPIRATION_DELTA: duration('2h'),
  ACTIVATION_DELIVERY: text(DELIVERY_PROBLEM, z.enum(['response', 'email'], { error: DELIVERY_PROBLEM }), 'response'),
  PASSWORD_RESET_EXPIRATION_DELTA: duration('1h'),
  EMAIL_BACKEND: text(EMAIL_BACKEND_PROBLEM, z.enum(EMAIL_BACKENDS, { error: EMAIL_BACKEND_PROBLEM }), 'binding'),
  MAIL_FROM: text(MAIL_FROM_PROBLEM, z.email({ error: MAIL_FROM_PROBLEM }), 'noreply@example.com'),
  // https only: the API key travels with every message.
  MAIL_HTTP_URL: optionalText.pipe(z.url({ protocol: /^https$/, error: 'must be an https URL' }).optional()),
  MAIL_API_KEY: optionalText,
  SITE_URL: siteUrl,
  CORS_ALLOWED_ORIGINS: origins,
  JWT_REVOCATION_CHECK: boolean('false'),
  REGISTRATION_OPEN: boolean('true'),
  REAUTH_MAX_AGE: duration('10m'),
  MFA_REQUIRED_FOR_STAFF: boolean('false'),
  D1_STATEMENT_TIMEOUT_MS: text(
    D1_TIMEOUT_PROBLEM,
    z
      .string()
      .regex(/^\d+$/, { error: D1_TIMEOUT_PROBLEM })
      .transform(Number)
      .refine((ms) => ms >= 1 && ms <= 60_000, { error: D1_TIMEOUT_PROBLEM }),
    '10000',
  ),
  AUDIT_RETENTION_DAYS: text(
    RETENTION_PROBLEM,
    z
      .string()
      .regex(/^\d+$/, { error: RETENTION_PROBLEM })
      .transform(Number)
      .refine((days) => days >= 1 && days <= 3650, { error: RETENTION_PROBLEM }),
    '90',
  ),
});

/** Reads every setting; throws a SettingsError naming the first one that is unusable. */
export function parseSettings(env: Record<string, unknown>): Settings {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    const [issue] = result.error.issues;
    throw new SettingsError(String(issue!.path[0]), issue!.message);
  }
  const vars = result.data;
  if (vars.EMAIL_BACKEND === 'http' && !vars.MAIL_HTTP_URL) {
    throw new SettingsError('MAIL_HTTP_URL', 'is not set: EMAIL_BACKEND "http" posts each message there');
  }
  if (vars.EMAIL_BACKEND === 'http' && !vars.MAIL_API_KEY) {
    throw new SettingsError(
      'MAIL_API_KEY',
      'is not set: run `wrangler secret put MAIL_API_KEY` for EMAIL_BACKEND "http"',
    );
  }
  return Object.freeze({
    jwtAlgorithm: vars.JWT_ALGORITHM,
    jwtKeys: Object.freeze(parseKeyMaterial(vars.JWT_SECRET, vars.JWT_ALGORITHM)),
    oidcKeys: Object.freeze(parseOidcKeyMaterial(vars.OIDC_SIGNING_KEY)),
    jwtExpirationDelta: vars.JWT_EXPIRATION_DELTA,
    jwtRefreshExpirationDelta: vars.JWT_REFRESH_EXPIRATION_DELTA,
    jwtAllowRefresh: vars.JWT_ALLOW_REFRESH,
    sessionRotationGrace: vars.SESSION_ROTATION_GRACE,
    jwtAuthHeaderPrefixes: Object.freeze(vars.JWT_AUTH_HEADER_PREFIX),
    jwtIssuer: vars.JWT_ISSUER,
    jwtAudience: vars.JWT_AUDIENCE,
    jwtLeeway: vars.JWT_LEEWAY,
    activationExpirationDelta: vars.ACTIVATION_EXPIRATION_DELTA,
    activationDelivery: vars.ACTIVATION_DELIVERY,
    passwordResetExpirationDelta: vars.PASSWORD_RESET_EXPIRATION_DELTA,
    mail: Object.freeze({
      backend: vars.EMAIL_BACKEND,
      from: vars.MAIL_FROM,
      httpUrl: vars.MAIL_HTTP_URL,
      apiKey: vars.MAIL_API_KEY,
    }),
    siteUrl: vars.SITE_URL,
    corsAllowedOrigins: Object.freeze(vars.CORS_ALLOWED_ORIGINS),
    jwtRevocationCheck: vars.JWT_REVOCATION_CHECK,
    registrationOpen: vars.REGISTRATION_OPEN,
    reauthMaxAge: vars.REAUTH_MAX_AGE,
    mfaRequiredForStaff: vars.MFA_REQUIRED_FOR_STAFF,
    auditRetentionDays: vars.AUDIT_RETENTION_DAYS,
    d1StatementTimeoutMs: vars.D1_STATEMENT_TIMEOUT_MS,
    authProviders: parseAuthProviders(env.AUTH_PROVIDERS, env),
  });
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

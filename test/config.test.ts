import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { getSettings, parseSettings } from '../src/config';
import { SettingsError } from '../src/settings-error';
import { callWithEnv } from './helpers';

const SECRET = 'a-development-secret-of-32-bytes!!';
const OIDC_KEY = env.OIDC_SIGNING_KEY;

afterEach(() => {
  vi.restoreAllMocks();
});

const withLeeway = (raw: string) =>
  parseSettings({ JWT_SECRET: SECRET, OIDC_SIGNING_KEY: OIDC_KEY, SITE_URL: 'http://localhost:8787', JWT_LEEWAY: raw })
    .jwtLeeway;

describe('durations', () => {
  it.each([
    ['300', 300],
    ['45s', 45],
    ['5m', 300],
    ['1h', 3600],
    ['7d', 604800],
    [' 2h ', 7200],
  ])('reads %j as %i seconds', (raw, seconds) => {
    expect(withLeeway(raw)).toBe(seconds);
  });

  it.each(['', 'soon', '-5', '1.5h', '5 minutes', '3w', '99999999999999999999d'])(
    'refuses %j, naming the setting',
    (raw) => {
      expect(() => withLeeway(raw)).toThrow(/^JWT_LEEWAY (must be a duration|is too large)/);
    },
  );
});

describe('SESSION_ROTATION_GRACE', () => {
  const grace = (raw: string) =>
    parseSettings({
      JWT_SECRET: SECRET,
      OIDC_SIGNING_KEY: OIDC_KEY,
      SITE_URL: 'http://localhost:8787',
      SESSION_ROTATION_GRACE: raw,
    }).sessionRotationGrace;

  it('is a duration of at most 60 seconds; 0 turns the grace off', () => {
    expect(grace('0')).toBe(0);
    expect(grace('1m')).toBe(60);
    expect(() => grace('61s')).toThrow(/^SESSION_ROTATION_GRACE must be at most 60s$/);
    expect(() => grace('soon')).toThrow(/^SESSION_ROTATION_GRACE must be a duration/);
  });
});

describe('AUDIT_RETENTION_DAYS', () => {
  const days = (raw: string) =>
    parseSettings({
      JWT_SECRET: SECRET,
      OIDC_SIGNING_KEY: OIDC_KEY,
      SITE_URL: 'http://localhost:8787',
      AUDIT_RETENTION_DAYS: raw,
    }).auditRetentionDays;

  it('is a whole number of days from 1 to 3650', () => {
    expect(days('1')).toBe(1);
    expect(days(' 365 ')).toBe(365);
    for (const raw of ['0', '3651', '7d', '1.5', '-3', 'forever']) {
      expect(() => days(raw), raw).toThrow(/^AUDIT_RETENTION_DAYS must be a whole number of days from 1 to 3650$/);
    }
  });
});

describe('AUTH_PROVIDERS', () => {
  const base = { JWT_SECRET: SECRET, OIDC_SIGNING_KEY: OIDC_KEY, SITE_URL: 'http://localhost:8787' };
  const providers = (list: unknown, secrets: Record<string, string> = {}) =>
    parseSettings({ ...base, AUTH_PROVIDERS: JSON.stringify(list), ...secrets }).authProviders;
  const google = { id: 'google', name: 'Google', type: 'oidc', issuer: 'https://accounts.google.com', client_id: 'c1' };

  it('reads each provider with its secret and default scopes; GitHub needs no issuer', () => {
    expect(
      providers([google, { id: 'github', name: 'GitHub', type: 'github', client_id: 'c2' }], {
        AUTH_PROVIDER_GOOGLE_SECRET: 's1',
        AUTH_PROVIDER_GITHUB_SECRET: ' s2 ',
      }),
    ).toEqual([
      {
        id: 'google',
        name: 'Google',
        type: 'oidc',
        issuer: 'https://accounts.google.com',
        clientId: 'c1',
        clientSecret: 's1',
        scopes: ['openid', 'email', 'profile'],
      },
      {
        id: 'github',
        name: 'GitHub',
        type: 'github',
        issuer: 'https://github.com',
        clientId: 'c2',
        clientSecret: 's2',
        scopes: ['read:user', 'user:email'],
      },
    ]);
    expect(parseSettings(base).authProviders).toEqual([]);
    expect(
      providers([{ ...google, id: 'my-idp', issuer: 'http://127.0.0.1:9000/' }], {
        AUTH_PROVIDER_MY_IDP_SECRET: 's',
      })[0]!.issuer,
    ).toBe('http://127.0.0.1:9000/');
  });

  it('refuses an incomplete provider at start, naming the setting and never a value', () => {
    const cases: [unknown, Record<string, string>, RegExp][] = [
      [google, {}, /^AUTH_PROVIDERS must be a JSON list of providers$/],
      [[google], {}, /^AUTH_PROVIDER_GOOGLE_SECRET is not set: run `wrangler secret put AUTH_PROVIDER_GOOGLE_SECRET`$/],
      [
        [{ ...google, issuer: undefined }],
        { AUTH_PROVIDER_GOOGLE_SECRET: 's' },
        /provider 1 \("google"\) needs an "issuer"$/,
      ],
      [
        [{ ...google, issuer: 'http://idp.example.com' }],
        { AUTH_PROVIDER_GOOGLE_SECRET: 's' },
        /issuer must be an https URL/,
      ],
      [[{ ...google, type: 'saml' }], { AUTH_PROVIDER_GOOGLE_SECRET: 's' }, /type must be "oidc" or "github"$/],
      [[{ ...google, id: 'Google!' }], {}, /ids are 1 to 32 lower-case letters/],
      [[{ ...google, client_id: '' }], { AUTH_PROVIDER_GOOGLE_SECRET: 's' }, /needs a "client_id"$/],
      [[{ ...google, scopes: ['email'] }], { AUTH_PROVIDER_GOOGLE_SECRET: 's' }, /must ask for the scope "openid"$/],
      [[{ ...google, secret: 'inline' }], { AUTH_PROVIDER_GOOGLE_SECRET: 's' }, /has an unknown field "secret"$/],
      [[google, google], { AUTH_PROVIDER_GOOGLE_SECRET: 's' }, /names the provider "google" twice$/],
    ];
    for (const [list, secrets, message] of cases) {
      expect(() => providers(list, secrets), JSON.stringify(list)).toThrow(message);
    }
    expect(() => parseSettings({ ...base, AUTH_PROVIDERS: '[{' })).toThrow(/^AUTH_PROVIDERS is not JSON/);
  });
});

describe('parseSettings', () => {
  it('gives the defaults of the contract when only the secret and SITE_URL are set', () => {
    expect(
      parseSettings({ JWT_SECRET: SECRET, OIDC_SIGNING_KEY: OIDC_KEY, SITE_URL: 'https://api.example.com/' }),
    ).toEqual({
      jwtAlgorithm: 'HS256',
      jwtKeys: [{ kind: 'secret', bytes: new TextEncoder().encode(SECRET) }],
      oidcKeys: [{ kind: 'jwk', jwk: JSON.parse(OIDC_KEY) }],
      jwtExpirationDelta: 300,
      jwtRefreshExpirationDelta: 7 * 86400,
      jwtAllowRefresh: true,
      sessionRotationGrace: 10,
      jwtAuthHeaderPrefixes: ['bearer', 'jwt'],
      jwtIssuer: undefined,
      jwtAudience: undefined,
      jwtLeeway: 0,
      activationExpirationDelta: 7200,
      activationDelivery: 'response',
      siteUrl: 'https://api.example.com',
      corsAllowedOrigins: [],
      jwtRevocationCheck: false,
      registrationOpen: true,
      passwordResetExpirationDelta: 3600,
      mail: { backend: 'binding', from: 'noreply@example.com', httpUrl: undefined, apiKey: undefined },
      reauthMaxAge: 600,
      mfaRequiredForStaff: false,
      auditRetentionDays: 90,
      d1StatementTimeoutMs: 10000,
      authProviders: [],
    });
  });

  it('accepts numbers and booleans, as wrangler.toml passes `JWT_LEEWAY = 5` or `JWT_ALLOW_REFRESH = false`', () => {
    const settings = parseSettings({
      JWT_SECRET: SECRET,
      OIDC_SIGNING_KEY: OIDC_KEY,
      SITE_URL: 'http://localhost:8787',
      JWT_LEEWAY: 5,
      JWT_ALLOW_REFRESH: false,
    });
    expect(settings.jwtLeeway).toBe(5);
    expect(settings.jwtAllowRefresh).toBe(false);
  });

  it('returns frozen settings, parsed once per env object', () => {
    const settings = getSettings(env);
    expect(Object.isFrozen(settings)).toBe(true);
    expect(getSettings(env)).toBe(settings);
  });

  it.each([
    [{}, 'JWT_SECRET'],
    [{ JWT_SECRET: 'x'.repeat(31) }, 'JWT_SECRET'],
    [{ JWT_SECRET: SECRET, SITE_URL: 'not a url' }, 'SITE_URL'],
    [{ JWT_SECRET: SECRET, JWT_ALLOW_REFRESH: 'maybe' }, 'JWT_ALLOW_REFRESH'],
    [{ JWT_SECRET: SECRET, JWT_AUTH_HEADER_PREFIX: ' , ' }, 'JWT_AUTH_HEADER_PREFIX'],
    [{ JWT_SECRET: SECRET, ACTIVATION_DELIVERY: 'pigeon' }, 'ACTIVATION_DELIVERY'],
    [{ JWT_SECRET: SECRET, CORS_ALLOWED_ORIGINS: 'app.example.com' }, 'CORS_ALLOWED_ORIGINS'],
    [{ JWT_SECRET: SECRET, OIDC_SIGNING_KEY: '' }, 'OIDC_SIGNING_KEY'],
  ])('refuses %j, naming %s', (overrides, setting) => {
    const error = (() => {
      try {
        parseSettings({ SITE_URL: 'http://localhost:8787', OIDC_SIGNING_KEY: OIDC_KEY, ...overrides });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as SettingsError).setting).toBe(setting);
  });
});

describe('a misconfigured Worker', () => {
  it.each([
    [{ JWT_SECRET: undefined }, 'JWT_SECRET is not set'],
    [{ JWT_SECRET: 'too-short' }, 'JWT_SECRET must be at least 32 bytes long'],
    [{ JWT_EXPIRATION_DELTA: 'soon' }, 'JWT_EXPIRATION_DELTA must be a duration'],
    [{ SITE_URL: '' }, 'SITE_URL is not set'],
  ])('answers every request with 500 naming the setting (%j)', async (overrides, message) => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    for (const [path, init] of [
      ['/', undefined],
      ['/api-auth/', { method: 'POST', body: new URLSearchParams({ username: 'a', password: 'b' }) }],
      ['/no/such/route/', undefined],
    ] as const) {
      const response = await callWithEnv(overrides, path, init);
      expect(response.status).toBe(500);
      const body = (await response.json()) as { detail: string };
      expect(body.detail.startsWith(`Server misconfigured: ${message}`)).toBe(true);
    }
    expect(logged).toHaveBeenCalledWith(expect.stringContaining(message));
  });
});

describe('a bad setting never reaches a client or a log with its value', () => {
  const MARKER = 'internal-admin.corp.example';
  it.each([
    ['SITE_URL', `ftp://${MARKER}/`],
    ['SITE_URL', `https://${MARKER}/?q=1`],
    ['CORS_ALLOWED_ORIGINS', MARKER],
    ['JWT_ALGORITHM', MARKER],
    ['JWT_EXPIRATION_DELTA', MARKER],
    ['JWT_LEEWAY', MARKER],
    ['JWT_ALLOW_REFRESH', MARKER],
    ['ACTIVATION_DELIVERY', MARKER],
    ['JWT_AUTH_HEADER_PREFIX', `a b,${MARKER} x`],
    ['JWT_SECRET', MARKER],
    ['AUDIT_RETENTION_DAYS', MARKER],
  ])('%s = %j: the 500 and the log name the setting only', async (setting, value) => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const response = await callWithEnv({ [setting]: value }, '/');
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).toContain(`Server misconfigured: ${setting} `);
    expect(body).not.toContain(MARKER);
    const log = JSON.stringify(logged.mock.calls);
    expect(log).toContain(setting);
    expect(log).not.toContain(MARKER);
  });

  it('JWT_SECRET of an ES256 key ring: no key material in the message', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const notAKey = JSON.stringify({ kty: 'EC', crv: 'P-256', d: MARKER_KEY, x: MARKER_KEY, y: MARKER_KEY });
    const response = await callWithEnv({ JWT_ALGORITHM: 'ES256', JWT_SECRET: notAKey }, '/.well-known/jwks.json');
    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain(MARKER_KEY);
  });
});

const MARKER_KEY = 'c2VjcmV0LWtleS1tYXRlcmlhbA';

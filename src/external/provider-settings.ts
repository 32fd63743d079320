/**
 * AUTH_PROVIDERS, read by config.ts: the external providers people may sign in with. A JSON list
 * of `{"id", "name", "type": "oidc" | "github", "issuer"?, "client_id", "scopes"?}`; each one's
 * secret is the secret AUTH_PROVIDER_<ID>_SECRET. Anything incomplete is refused at start, naming
 * the setting and never quoting a value.
 */
import * as z from 'zod';
import { isLoopbackUri } from '../oauth/clients';
import { SettingsError } from '../settings-error';

export interface ExternalProvider {
  /** In paths: /auth/external/<id>/. */
  readonly id: string;
  /** On the buttons: "Sign in with <name>". */
  readonly name: string;
  readonly type: 'oidc' | 'github';
  /**
   * oidc: the issuer, whose discovery document says the rest. github: GitHub's web address
   * (https://github.com, or a GitHub Enterprise Server's, whose API is under /api/v3).
   */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes: readonly string[];
}

const SETTING = 'AUTH_PROVIDERS';

/** https, or http on a loopback host (local development and the tests); no query or fragment. */
function isIssuerUrl(value: string): boolean {
  try {
    const url = new URL(value);
    if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') return false;
    return url.protocol === 'https:' || isLoopbackUri(url);
  } catch {
    return false;
  }
}

const providerSchema = z
  .object({
    id: z
      .string({ error: 'needs an "id"' })
      .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, { error: 'ids are 1 to 32 lower-case letters, digits and dashes' }),
    name: z.string({ error: 'needs a "name"' }).trim().min(1, { error: 'needs a "name"' }).max(50),
    type: z.enum(['oidc', 'github'], { error: 'type must be "oidc" or "github"' }),
    issuer: z
      .string({ error: 'issuer must be a string' })
      .refine(isIssuerUrl, { error: 'issuer must be an https URL (http only on a loopback host)' })
      .optional(),
    client_id: z.string({ error: 'needs a "client_id"' }).min(1, { error: 'needs a "client_id"' }),
    scopes: z
      .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/), { error: 'scopes must be a list of scopes' })
      .optional(),
  })
  .strict();

const DEFAULT_SCOPES = { oidc: ['openid', 'email', 'profile'], github: ['read:user', 'user:email'] } as const;

/** The setting name of a provider's secret: AUTH_PROVIDER_<ID>_SECRET, dashes as underscores. */
export const secretSettingOf = (id: string) => `AUTH_PROVIDER_${id.toUpperCase().replace(/-/g, '_')}_SECRET`;

export function parseAuthProviders(raw: unknown, env: Record<string, unknown>): readonly ExternalProvider[] {
  if (raw === undefined || (typeof raw === 'string' && raw.trim() === '')) return [];
  let parsed: unknown;
  try {
    parsed = typeof raw === 'string' ? JSON.parse(raw) : raw;
  } catch {
    throw new SettingsError(SETTING, 'is not JSON: give a list like [{"id": "google", "type": "oidc", ...}]');
  }
  if (!Array.isArray(parsed)) throw new SettingsError(SETTING, 'must be a JSON list of providers');
  const providers = parsed.map((entry, index) => {
    const result = providerSchema.safeParse(entry);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const problem = issue.code === 'unrecognized_keys' ? `has an unknown field "${issue.keys[0]}"` : issue.message;
      throw new SettingsError(SETTING, `provider ${index + 1} ${problem}`);
    }
    const { id, name, type, issuer, client_id: clientId, scopes } = result.data;
    if (type === 'oidc' && issuer === undefined) {
      throw new SettingsError(SETTING, `provider ${index + 1} ("${id}") needs an "issuer"`);
    }
    if (type === 'oidc' && scopes !== undefined && !scopes.includes('openid')) {
      throw new SettingsError(SETTING, `provider ${index + 1} ("${id}") must ask for the scope "openid"`);
    }
    const secretSetting = secretSettingOf(id);
    const secret = env[secretSetting];
    if (typeof secret !== 'string' || secret.trim() === '') {
      throw new SettingsError(secretSetting, `is not set: run \`wrangler secret put ${secretSetting}\``);
    }
    return Object.freeze({
      id,
      name,
      type,
      // Exact: an ID token's `iss` must equal it, trailing slash and all.
      issuer: issuer ?? 'https://github.com',
      clientId,
      clientSecret: secret.trim(),
      scopes: Object.freeze([...(scopes ?? DEFAULT_SCOPES[type])]),
    });
  });
  const ids = providers.map(({ id }) => id);
  const repeated = ids.find((id, index) => ids.indexOf(id) !== index);
  if (repeated !== undefined) throw new SettingsError(SETTING, `names the provider "${repeated}" twice`);
  return Object.freeze(providers);
}

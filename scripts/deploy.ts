/**
 * `npm run deploy`: checks the settings of wrangler.toml (and any `--var`) with the Worker's own
 * parser, builds the app, then runs `wrangler deploy` with the same arguments (`npm run deploy --
 * --dry-run`): one deploy ships the API and the app.
 * JWT_SECRET and OIDC_SIGNING_KEY live in Cloudflare (`wrangler secret put`), where this script
 * cannot read them; wrangler itself refuses to deploy without them ([secrets] in wrangler.toml),
 * so the other settings are checked with throwaway keys.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { buildApp } from './build-app.ts';
import { newOidcSigningKey } from './oidc-key.ts';
import { startWrangler } from './wrangler.ts';
import { settingsProblem, workerEnv } from './worker-settings.ts';

function throwawaySecret(algorithm: unknown): string {
  if (algorithm === 'ES256') {
    return JSON.stringify(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }));
  }
  if (algorithm === 'EdDSA') {
    return JSON.stringify(generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }));
  }
  return randomBytes(32).toString('base64url');
}

const args = process.argv.slice(2);
const env = workerEnv(args, { local: false });
const problem = await settingsProblem({
  ...env,
  JWT_SECRET: env.JWT_SECRET ?? throwawaySecret(env.JWT_ALGORITHM),
  OIDC_SIGNING_KEY: env.OIDC_SIGNING_KEY ?? newOidcSigningKey(),
});
if (problem) {
  console.error(`npm run deploy: ${problem}. Fix it in wrangler.toml; nothing was deployed.`);
  process.exit(1);
}
buildApp();
process.exitCode = await startWrangler(['deploy', ...args]);

import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vitest/config';
import { newOidcSigningKey } from './scripts/oidc-key.ts';

// The Worker's tests run inside workerd with the bindings of wrangler.toml and a local D1 to which the real
// migrations are applied (test/apply-migrations.ts). The JWT secret and the OIDC key are random for every run.
//
// wrangler reads required secrets ([secrets] in wrangler.toml) from process.env when there is no
// .dev.vars, and says so once per test file; setting the secret here and keeping wrangler's log
// at warnings keeps `npm test` quiet without hiding a real warning.
const jwtSecret = randomBytes(32).toString('base64url');
const oidcSigningKey = newOidcSigningKey();
process.env.JWT_SECRET = jwtSecret;
process.env.OIDC_SIGNING_KEY = oidcSigningKey;
process.env.WRANGLER_LOG ??= 'warn';

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, 'migrations'));
  return {
    test: {
      projects: [
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: './wrangler.toml' },
              miniflare: {
                bindings: { TEST_MIGRATIONS: migrations, JWT_SECRET: jwtSecret, OIDC_SIGNING_KEY: oidcSigningKey },
                // Empty databases of their own: for the test of the migrations themselves, and for
                // a Django import that keeps the dump's ids.
                d1Databases: { MIGRATION_TEST_DB: 'migration-test', IMPORT_TEST_DB: 'import-test' },
              },
            }),
          ],
          test: {
            name: 'worker',
            // One workerd (and one D1) per Vitest worker for all its test files, not one per file:
            // starting workerd and loading the app was most of the run. Test files therefore share
            // the database: each makes its own users and asserts nothing about rows it did not make.
            isolate: false,
            setupFiles: ['./test/apply-migrations.ts'],
            // The app's build, which the ASSETS binding serves, and a real OpenID Connect provider
            // on a loopback port, for sign-in through other providers.
            globalSetup: ['./test/build-app.ts', './test/external/provider-setup.ts'],
            include: ['test/**/*.test.ts'],
          },
        },
        // The app's components and API client, in happy-dom.
        {
          plugins: [vue()],
          test: { name: 'app', environment: 'happy-dom', include: ['app/src/**/*.test.ts'] },
        },
      ],
    },
  };
});

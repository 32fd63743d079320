import type { D1Migration } from '@cloudflare/vitest-plugin';

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      MIGRATION_TEST_DB: D1Database;
      IMPORT_TEST_DB: D1Database;
    }
    interface GlobalProps {
      mainModule: typeof import('../src/index');
    }
  }
}

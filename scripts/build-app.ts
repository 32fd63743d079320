/** Builds the single-page app (app/) into app/dist, which wrangler.toml's [assets] serves under /app/. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { projectRoot } from './wrangler.ts';

const viteBin = fileURLToPath(new URL('../node_modules/vite/bin/vite.js', import.meta.url));

export function buildApp(): void {
  const result = spawnSync(
    process.execPath,
    [viteBin, 'build', '--config', 'app/vite.config.ts', '--logLevel', 'warn'],
    {
      cwd: projectRoot,
      stdio: 'inherit',
    },
  );
  if (result.status !== 0) throw new Error('Building the app (vite build) failed.');
}

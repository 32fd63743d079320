/** Runs the project's own wrangler on the Node that runs this script (Node 22 under npm scripts). */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const projectRoot = fileURLToPath(new URL('..', import.meta.url));
export const wranglerBin = fileURLToPath(new URL('../node_modules/wrangler/bin/wrangler.js', import.meta.url));

/**
 * Telemetry, error reports and the download of the `request.cf` sample off: none of them may
 * slow or fail a local run on a machine without Cloudflare's network.
 */
export const wranglerEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
};

/** Starts a long-running wrangler command attached to this terminal; resolves with its exit code. */
export function startWrangler(args: string[]): Promise<number> {
  const child = spawn(process.execPath, [wranglerBin, ...args], {
    cwd: projectRoot,
    env: wranglerEnv,
    stdio: 'inherit',
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

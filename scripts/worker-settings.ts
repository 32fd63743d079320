/**
 * The Worker's settings as `wrangler dev` (or deploy) would give them, checked by the Worker's own
 * parser (src/config.ts and src/auth/keys.ts, bundled with esbuild so that Node runs exactly that
 * code) before anything serves. A bad setting is reported by name, never with its value.
 */
import path from 'node:path';
import { build } from 'esbuild';
import { unstable_getVarsForDev, unstable_readConfig } from 'wrangler';
import { projectRoot } from './wrangler.ts';

/** The values of repeated `--name value` / `--name=value` arguments. */
export function flagValues(args: readonly string[], name: string): string[] {
  return args.flatMap((arg, i) =>
    arg === name
      ? args[i + 1] === undefined
        ? []
        : [args[i + 1]!]
      : arg.startsWith(`${name}=`)
        ? [arg.slice(name.length + 1)]
        : [],
  );
}

/**
 * [vars] of wrangler.toml, then .dev.vars (or .env, or the process environment for declared
 * names), then `--var KEY:VALUE` arguments: the order in which `wrangler dev` applies them.
 */
export function workerEnv(args: readonly string[], { local }: { local: boolean }): Record<string, unknown> {
  const environment = flagValues(args, '--env')[0];
  const config = unstable_readConfig(
    { config: path.join(projectRoot, 'wrangler.toml'), env: environment },
    { hideWarnings: true },
  );
  const vars: Record<string, unknown> = local
    ? Object.fromEntries(
        Object.entries(
          unstable_getVarsForDev(config.userConfigPath, undefined, config.vars, environment, true, config.secrets),
        ).map(([name, binding]) => [name, binding.value]),
      )
    : { ...config.vars };
  for (const assignment of flagValues(args, '--var')) {
    const [name, ...value] = assignment.split(':');
    vars[name!] = value.join(':');
  }
  return vars;
}

interface WorkerConfig {
  parseSettings(env: Record<string, unknown>): unknown;
  keyRing(settings: unknown): Promise<unknown>;
  SettingsError: new (...args: never[]) => Error;
}

async function loadWorkerConfig(): Promise<WorkerConfig> {
  const { outputFiles } = await build({
    stdin: {
      contents:
        "export { parseSettings } from './src/config';\nexport { SettingsError } from './src/settings-error';\nexport { keyRing } from './src/auth/keys';",
      resolveDir: projectRoot,
      loader: 'ts',
    },
    bundle: true,
    format: 'esm',
    platform: 'node',
    write: false,
    logLevel: 'silent',
  });
  const code = Buffer.from(outputFiles[0]!.contents).toString('base64');
  return import(`data:text/javascript;base64,${code}`) as Promise<WorkerConfig>;
}

/** The problem with the settings ("SETTING must ..."), or undefined when the Worker can use them. */
export async function settingsProblem(env: Record<string, unknown>): Promise<string | undefined> {
  const worker = await loadWorkerConfig();
  try {
    await worker.keyRing(worker.parseSettings(env));
    return undefined;
  } catch (error) {
    if (error instanceof worker.SettingsError) return error.message;
    throw error;
  }
}

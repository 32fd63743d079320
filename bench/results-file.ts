/**
 * bench/RESULTS.md holds one section per benchmark (`npm run bench`, its `--direct` mode,
 * `npm run soak`), each between its own markers, so writing one keeps the others.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../scripts/wrangler.ts';

const FILE = path.join(projectRoot, 'bench', 'RESULTS.md');

/** The machine a benchmark ran on, as a list. */
export function machineLines(): string[] {
  return [
    `- CPU: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.availableParallelism()} CPUs available`,
    `- memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; ${os.type()} ${os.release()} (${os.arch()})`,
    `- Node ${process.version}, wrangler ${packageVersion('wrangler')}, workerd ${packageVersion('workerd')}`,
  ];
}

export function packageVersion(name: string): string {
  const file = path.join(projectRoot, 'node_modules', name, 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** Replaces section `name` of bench/RESULTS.md with `body` (appended when it is not there yet). */
export function writeResultsSection(name: string, body: string): void {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const text = existsSync(FILE) ? readFileSync(FILE, 'utf8') : '# Benchmark results\n';
  const section = `${start}\n\n${body.trim()}\n\n${end}`;
  const at = text.indexOf(start);
  const stop = text.indexOf(end);
  const next =
    at >= 0 && stop > at
      ? `${text.slice(0, at)}${section}${text.slice(stop + end.length)}`
      : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(FILE, next);
  console.log(`\nWrote the ${name} section of ${path.relative(projectRoot, FILE)}.`);
}

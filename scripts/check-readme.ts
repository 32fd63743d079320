/**
 * `node scripts/check-readme.ts`: runs the README's examples (the ```sh blocks of "Using the API")
 * in order, in one bash session, against `npm start` on a free port with a fresh local database,
 * and compares each command's output with the lines under it. Tokens compare as `eyJ...`.
 * Prints one line per example and `readme examples: N of M checks passed`; exits 1 on a mismatch.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePorts } from './free-port.ts';
import { startLocalServer } from './local-server.ts';
import { projectRoot } from './wrangler.ts';

interface Example {
  command: string;
  expected: string;
}

/** `$ command` lines (with `\` continuations) and the output lines under each. */
function examples(readme: string): Example[] {
  const start = readme.indexOf('## Using the API');
  if (start === -1) throw new Error('README.md has no "## Using the API" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map(([, body]) => body!.split('\n'));
  const found: Example[] = [];
  for (const lines of blocks) {
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i]!.startsWith('$ ')) continue;
      let command = lines[i]!.slice(2);
      while (command.endsWith('\\')) command = `${command}\n${lines[++i]}`;
      const expected: string[] = [];
      while (i + 1 < lines.length && lines[i + 1] !== '' && !/^(\$ |# )/.test(lines[i + 1]!))
        expected.push(lines[++i]!);
      found.push({ command, expected: expected.join('\n') });
    }
  }
  if (found.length === 0) throw new Error('README.md\'s "Using the API" has no `$ command` examples');
  return found;
}

const normalize = (text: string) => text.replace(/eyJ[\w-]+(\.[\w-]*){0,2}/g, 'eyJ...').trim();

const [port] = (await freePorts(1)) as [number];
const state = mkdtempSync(path.join(tmpdir(), 'readme-state-'));
const workdir = mkdtempSync(path.join(tmpdir(), 'readme-work-'));
const server = await startLocalServer(port, ['--persist-to', state]);
let passed = 0;
let failed = 0;
try {
  const list = examples(readFileSync(path.join(projectRoot, 'README.md'), 'utf8'));
  const marker = (i: number) => `@@example ${i}@@`;
  const script = list
    .map(({ command }, i) => `echo '${marker(i)}'\n${command.replaceAll('localhost:8787', `localhost:${port}`)}`)
    .join('\n');
  const run = spawnSync('bash', ['-c', script], { cwd: workdir, encoding: 'utf8', timeout: 120_000 });
  if (run.error) throw run.error;
  const outputs = run.stdout.split(/@@example \d+@@\n/).slice(1);
  list.forEach(({ command, expected }, i) => {
    const actual = normalize((outputs[i] ?? '').replaceAll(`localhost:${port}`, 'localhost:8787'));
    const ok = actual === normalize(expected);
    if (ok) passed++;
    else failed++;
    const title = command.split('\n')[0]!.slice(0, 90);
    console.log(
      `${ok ? 'ok  ' : 'FAIL'} ${title}${ok ? '' : `\n  expected: ${normalize(expected)}\n  actual:   ${actual}`}`,
    );
  });
  if (run.stderr.trim()) console.log(`stderr: ${run.stderr.trim()}`);
} finally {
  await server.stop();
  rmSync(state, { recursive: true, force: true });
  rmSync(workdir, { recursive: true, force: true });
}
console.log(`readme examples: ${passed} of ${passed + failed} checks passed`);
process.exitCode = failed === 0 ? 0 : 1;

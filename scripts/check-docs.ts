/**
 * `npm run check:docs`: the README and the pages of docs/ say what is true.
 *
 * - Examples: the `$ command` lines of a page's ```sh blocks (with `\` continuations) run in
 *   order, in one bash session, against `npm start` on a free port with a fresh local database
 *   (one per page, as each page says), and each command's output must be the lines under it.
 *   Tokens compare as `eyJ...`.
 * - Links: every relative link of README.md, SECURITY.md and docs/*.md names a file that exists,
 *   and an anchor a heading of that page; the README links to every page of docs/, and each page
 *   links back.
 *
 * Prints one line per example and per broken link, then `docs: N of M checks passed`; exits 1 on
 * any failure.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePorts } from './free-port.ts';
import { startLocalServer } from './local-server.ts';
import { projectRoot } from './wrangler.ts';

interface Example {
  command: string;
  expected: string;
}

const topicPages = readdirSync(path.join(projectRoot, 'docs'))
  .filter((name) => name.endsWith('.md'))
  .sort()
  .map((name) => `docs/${name}`);
const pages = ['README.md', 'SECURITY.md', ...topicPages];
const read = (page: string) => readFileSync(path.join(projectRoot, page), 'utf8');

let passed = 0;
let failed = 0;
/** Counts one check; prints it when it failed, or when `shown` (the examples). */
function check(ok: boolean, line: string, failure: string, shown = false) {
  if (ok) passed++;
  else failed++;
  if (!ok || shown) console.log(`${ok ? 'ok  ' : 'FAIL'} ${line}${ok ? '' : failure}`);
}

/** `$ command` lines (with `\` continuations) and the output lines under each. */
function examples(markdown: string): Example[] {
  const blocks = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map(([, body]) => body!.split('\n'));
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
  return found;
}

const normalize = (text: string) => text.replace(/eyJ[\w-]+(\.[\w-]*){0,2}/g, 'eyJ...').trim();

async function runExamples(page: string, list: Example[]) {
  const [port] = (await freePorts(1)) as [number];
  const state = mkdtempSync(path.join(tmpdir(), 'docs-state-'));
  const workdir = mkdtempSync(path.join(tmpdir(), 'docs-work-'));
  const server = await startLocalServer(port, ['--persist-to', state]);
  try {
    const marker = (i: number) => `@@example ${i}@@`;
    const script = list
      .map(({ command }, i) => `echo '${marker(i)}'\n${command.replaceAll('localhost:8787', `localhost:${port}`)}`)
      .join('\n');
    const run = spawnSync('bash', ['-c', script], { cwd: workdir, encoding: 'utf8', timeout: 120_000 });
    if (run.error) throw run.error;
    const outputs = run.stdout.split(/@@example \d+@@\n/).slice(1);
    list.forEach(({ command, expected }, i) => {
      const actual = normalize((outputs[i] ?? '').replaceAll(`localhost:${port}`, 'localhost:8787'));
      const title = `${page}: ${command.split('\n')[0]!.slice(0, 90)}`;
      check(actual === normalize(expected), title, `\n  expected: ${normalize(expected)}\n  actual:   ${actual}`, true);
    });
    if (run.stderr.trim()) console.log(`stderr: ${run.stderr.trim()}`);
  } finally {
    await server.stop();
    rmSync(state, { recursive: true, force: true });
    rmSync(workdir, { recursive: true, force: true });
  }
}

/** The markdown outside code: fenced blocks and inline code spans hold no links. */
const prose = (markdown: string) => markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');

/** GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces as `-`. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const [, heading] of markdown.replace(/```[\s\S]*?```/g, '').matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = heading!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    found.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return found;
}

/** The page-relative targets of a page's links (not those to other sites). */
const links = (markdown: string) =>
  [...prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)].map(([, target]) => target!).filter((t) => !/^\w+:/.test(t));

function checkLinks() {
  const targets = new Map(pages.map((page) => [page, links(read(page))]));
  let good = 0;
  for (const [page, list] of targets) {
    for (const target of list) {
      const [file, anchor] = target.split('#') as [string, string | undefined];
      const linked = file === '' ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
      const problem = !existsSync(path.join(projectRoot, linked))
        ? `${linked} does not exist`
        : anchor !== undefined && !(linked.endsWith('.md') && anchors(read(linked)).has(anchor))
          ? `${linked} has no heading #${anchor}`
          : null;
      check(problem === null, `${page}: link to ${target}`, `: ${problem}`);
      if (problem === null) good++;
    }
  }
  const readmeLinks = targets.get('README.md')!.map((target) => target.split('#')[0]);
  for (const page of topicPages) {
    check(readmeLinks.includes(page), `README.md links to ${page}`, ': it does not');
    check(targets.get(page)!.includes('../README.md'), `${page} links back to the README`, ': it does not');
  }
  console.log(`ok   ${good} links between the pages, and the README to each of docs/ and back`);
}

checkLinks();
for (const page of pages) {
  const list = examples(read(page));
  if (list.length) await runExamples(page, list);
}
console.log(`docs: ${passed} of ${passed + failed} checks passed`);
process.exitCode = failed === 0 ? 0 : 1;

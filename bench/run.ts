/**
 * `npm run bench`: what a request costs, as ratios any machine can check.
 *
 * 1. Throughput: the API root (the floor: routing, headers, no D1), the anonymous task list, the
 *    same list with a token, verify, a task read and a task create, interleaved request by
 *    request in a shuffled order on one keep-alive connection, so every route meets the same
 *    machine state. A route's throughput is 1 / its mean latency (trimmed of the slowest and
 *    fastest 2 %); it is printed as a ratio to the floor, and the list with a token against the
 *    list without one (goal: at least 0.95). Then each route alone, to read the CPU time the
 *    workerd process spent per request (the Worker and the local D1), and a login's.
 * 2. Growth: every list route the same way with 10,000 tasks, then with 1,000,000 (100 tasks for
 *    each user at both sizes, so a page of users shows as many task ids); a route's own cost is
 *    its latency minus the floor's (goal: it grows at most 1.5 times).
 *
 * The service is `npm start` on a free port with a database of its own in a temporary directory;
 * rows are inserted straight into that database. Linux only (CPU time is read from /proc).
 * `npm run bench -- --write` also writes the tables, and the machine, to bench/RESULTS.md.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { hashPassword } from '../src/auth/passwords.ts';
import { freePorts } from '../scripts/free-port.ts';
import { withLocalD1 } from '../scripts/local-d1.ts';
import { startLocalServer, type LocalServer } from '../scripts/local-server.ts';
import { projectRoot } from '../scripts/wrangler.ts';

const TASKS_PER_USER = 100;
const SMALL = 10_000;
const LARGE = 1_000_000;
const PASSWORD = 'bench password 1';
const GOALS = { authenticatedOverAnonymous: 0.95, listGrowth: 1.5 };

const { values: options } = parseArgs({
  options: {
    write: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '40' },
  },
});
/** How long each interleaved measurement runs. */
const SECONDS = Number(options.seconds);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-'));

// ---- the database ----

/** Adds users (bench1, bench2, ...) up to `tasks / TASKS_PER_USER`, each with 100 tasks. */
async function growTo(persistTo: string, tasks: number): Promise<void> {
  const hash = await hashPassword(PASSWORD);
  await withLocalD1(persistTo, async (db) => {
    const count = await db.prepare("SELECT count FROM row_counts WHERE name = 'users'").first<number>('count');
    const from = (count ?? 0) + 1;
    const to = tasks / TASKS_PER_USER;
    // Chunks of 1,000 users (100,000 tasks): one statement each, every count trigger included.
    for (let first = from; first <= to; first += 1000) {
      const last = Math.min(first + 999, to);
      await db.batch([
        db
          .prepare(
            `WITH RECURSIVE n(i) AS (SELECT CAST(?1 AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
             INSERT INTO users (username, email, password, is_active, is_staff)
             SELECT 'bench' || i, 'bench' || i || '@example.com', ?3, 1, 0 FROM n`,
          )
          .bind(first, last, hash),
        db
          .prepare(
            `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${TASKS_PER_USER})
             INSERT INTO tasks (title, person_id, due_to)
             SELECT 'task ' || abs(random() % 100000), users.id,
                    strftime('%Y-%m-%dT%H:%M:%S', 1700000000 + abs(random() % 300000000), 'unixepoch') || '.000000Z'
             FROM users JOIN n
             WHERE users.username IN (SELECT 'bench' || value FROM json_each(?1))`,
          )
          .bind(JSON.stringify(Array.from({ length: last - first + 1 }, (_, k) => first + k))),
      ]);
      process.stderr.write(`\r  ${(last * TASKS_PER_USER).toLocaleString('en')} tasks`);
    }
    process.stderr.write('\n');
  });
}

// ---- measuring ----

interface Route {
  name: string;
  path: string;
  method?: 'GET' | 'POST';
  /** The body of the request numbered `n`. */
  body?: (n: number) => string;
  token?: boolean;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let sent = 0;

/** One request on the keep-alive connection; its latency in ms. Anything but 2xx is an error. */
function send(base: string, route: Route, token: string): Promise<number> {
  const body = route.body?.(++sent);
  const headers: Record<string, string> = {};
  if (route.token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = http.request(
      `${base}${route.path}`,
      { method: route.method ?? 'GET', agent, headers },
      (response) => {
        response.resume();
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          if (status < 200 || status > 299) reject(new Error(`${route.name}: ${status}`));
          else resolve(performance.now() - started);
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** The mean of the middle 96 %: a GC pause or a page-cache miss does not decide a ratio. */
function trimmedMean(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const cut = Math.floor(sorted.length * 0.02);
  const kept = sorted.slice(cut, sorted.length - cut);
  return kept.reduce((sum, v) => sum + v, 0) / kept.length;
}

/**
 * Every route in turn, in a new random order each cycle, for SECONDS: each route's trimmed mean
 * latency in ms.
 */
async function interleaved(base: string, routes: Route[], token: string): Promise<Map<string, number>> {
  const samples = new Map<string, number[]>(routes.map((r) => [r.name, []]));
  for (let i = 0; i < 20; i++) for (const route of routes) await send(base, route, token); // warm-up
  const end = performance.now() + SECONDS * 1000;
  while (performance.now() < end) {
    const order = [...routes].sort(() => Math.random() - 0.5);
    for (const route of order) samples.get(route.name)!.push(await send(base, route, token));
  }
  return new Map([...samples].map(([name, values]) => [name, trimmedMean(values)]));
}

/** CPU time (user + system, ms) of the service's workerd processes, from /proc. */
function workerdCpuMs(server: LocalServer): number {
  const tick = 1000 / 100; // USER_HZ is 100 on Linux
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (name === 'workerd' && Number(fields[2]) === server.processGroup) {
      total += (Number(fields[11]) + Number(fields[12])) * tick;
    }
  }
  return total;
}

/** The workerd CPU time per request of `route`, sent `count` times alone. */
async function cpuPerRequest(server: LocalServer, route: Route, token: string, count = 400): Promise<number> {
  const before = workerdCpuMs(server);
  for (let i = 0; i < count; i++) await send(server.base, route, token);
  return (workerdCpuMs(server) - before) / count;
}

// ---- the service ----

/** The size of the local D1 database files under `persistTo` (SQLite, with its WAL). */
function databaseMiB(persistTo: string): number {
  const dir = path.join(persistTo, 'v3', 'd1');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.sqlite(-wal)?$/.test(f));
  return files.reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0) / 2 ** 20;
}

/** A JSON request on a connection of its own; a non-2xx answer is an error. */
function json(
  base: string,
  route: string,
  { method = 'GET', token, body }: { method?: string; token?: string; body?: unknown } = {},
) {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    const request = http.request(`${base}${route}`, { method, headers, agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        if (status < 200 || status > 299) reject(new Error(`${route}: ${status} ${text}`));
        else resolve(JSON.parse(text) as Record<string, unknown>);
      });
    });
    request.on('error', reject);
    request.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const LOGIN = { username: 'bench1', password: PASSWORD };

async function login(base: string): Promise<{ token: string; userId: number }> {
  const { token } = (await json(base, '/api-auth/', { method: 'POST', body: LOGIN })) as { token: string };
  const me = await json(base, '/users/me/', { token });
  return { token, userId: me.id as number };
}

async function firstTaskOf(base: string, person: number): Promise<number> {
  const page = await json(base, `/tasks/?person=${person}&limit=1`);
  return (page.results as { id: number }[])[0]!.id;
}

async function listRoutes(base: string, userId: number): Promise<Route[]> {
  const first = await json(base, '/tasks/?ordering=-due_to&cursor=');
  return [
    { name: 'GET /tasks/', path: '/tasks/' },
    { name: 'GET /tasks/?ordering=-due_to', path: '/tasks/?ordering=-due_to' },
    { name: 'GET /tasks/?ordering=title', path: '/tasks/?ordering=title' },
    { name: 'GET /tasks/?person=…&ordering=-due_to', path: `/tasks/?person=${userId}&ordering=-due_to` },
    { name: 'GET /tasks/?cursor=… (page 2, -due_to)', path: `/tasks/${new URL(first.next as string).search}` },
    { name: 'GET /users/', path: '/users/' },
  ];
}

const ROOT: Route = { name: 'GET / (floor)', path: '/' };

async function serve(persistTo: string): Promise<LocalServer> {
  const [port] = await freePorts(1);
  return startLocalServer(port!, ['--persist-to', persistTo]);
}

// ---- the run ----

const fmt = (n: number, digits = 2) => n.toFixed(digits);
const lines: string[] = [];
const say = (line = '') => {
  console.log(line);
  lines.push(line);
};
let failures = 0;
const goal = (ok: boolean) => {
  if (!ok) failures++;
  return ok ? 'met' : '**not met**';
};
const step = (text: string) => process.stderr.write(`${text}\n`);

const persistTo = path.join(tmp, 'state');
let server: LocalServer | undefined;
try {
  step(`Seeding ${SMALL.toLocaleString('en')} tasks`);
  await growTo(persistTo, SMALL);
  server = await serve(persistTo);
  const { token, userId } = await login(server.base);

  const throughputRoutes: Route[] = [
    ROOT,
    { name: 'GET /tasks/ (anonymous)', path: '/tasks/' },
    { name: 'GET /tasks/ (token)', path: '/tasks/', token: true },
    {
      name: 'POST /auth/verify_token/',
      path: '/auth/verify_token/',
      method: 'POST',
      body: () => JSON.stringify({ token }),
    },
    { name: 'GET /tasks/{id}/ (token)', path: `/tasks/${await firstTaskOf(server.base, userId)}/`, token: true },
    {
      name: 'POST /tasks/ (token)',
      path: '/tasks/',
      method: 'POST',
      token: true,
      body: (n) => JSON.stringify({ title: `bench ${n}`, due_to: '2031-01-01T00:00:00Z' }),
    },
  ];
  step(`Throughput, interleaved, ${SECONDS} s`);
  const latency = await interleaved(server.base, throughputRoutes, token);
  step('CPU time per request, each route alone');
  const cpu = new Map<string, number>();
  for (const route of throughputRoutes) cpu.set(route.name, await cpuPerRequest(server, route, token));
  const loginRoute: Route = {
    name: 'POST /api-auth/ (login)',
    path: '/api-auth/',
    method: 'POST',
    body: () => JSON.stringify(LOGIN),
  };
  // Five logins: the limit per username is 10 a minute.
  const loginCpu = await cpuPerRequest(server, loginRoute, token, 5);

  const floor = latency.get(ROOT.name)!;
  say(`### Throughput (one connection, interleaved; ${SMALL.toLocaleString('en')} tasks)`);
  say();
  say('| route | mean latency (ms) | requests/s | ratio to the floor | workerd CPU per request (ms) |');
  say('|---|---:|---:|---:|---:|');
  for (const { name } of throughputRoutes) {
    const ms = latency.get(name)!;
    say(`| ${name} | ${fmt(ms)} | ${fmt(1000 / ms, 0)} | ${fmt(floor / ms)} | ${fmt(cpu.get(name)!, 1)} |`);
  }
  say(`| ${loginRoute.name} | | | | ${fmt(loginCpu, 1)} |`);
  const authRatio = latency.get('GET /tasks/ (anonymous)')! / latency.get('GET /tasks/ (token)')!;
  say();
  say(
    `Authenticated / anonymous list: **${fmt(authRatio, 3)}** (goal ≥ ${GOALS.authenticatedOverAnonymous}: ${goal(authRatio >= GOALS.authenticatedOverAnonymous)})`,
  );
  say();

  step(`Latency with ${SMALL.toLocaleString('en')} tasks, interleaved, ${SECONDS} s`);
  const small = await interleaved(server.base, [ROOT, ...(await listRoutes(server.base, userId))], token);
  await server.stop();
  server = undefined;
  const smallMiB = databaseMiB(persistTo);

  step(`Growing to ${LARGE.toLocaleString('en')} tasks`);
  const growStarted = performance.now();
  await growTo(persistTo, LARGE);
  const growSeconds = (performance.now() - growStarted) / 1000;
  const largeMiB = databaseMiB(persistTo);
  server = await serve(persistTo);
  step(`Latency with ${LARGE.toLocaleString('en')} tasks, interleaved, ${SECONDS} s`);
  const large = await interleaved(server.base, [ROOT, ...(await listRoutes(server.base, userId))], token);

  say(
    `### List latency, ${SMALL.toLocaleString('en')} → ${LARGE.toLocaleString('en')} tasks (one connection, interleaved, ms)`,
  );
  say();
  say('| route | 10k: latency | 10k: own cost | 1M: latency | 1M: own cost | own cost growth |');
  say('|---|---:|---:|---:|---:|---:|');
  const floorSmall = small.get(ROOT.name)!;
  const floorLarge = large.get(ROOT.name)!;
  say(`| ${ROOT.name} | ${fmt(floorSmall)} | | ${fmt(floorLarge)} | | |`);
  let worst = 0;
  for (const [name, ms] of small) {
    if (name === ROOT.name) continue;
    const ownSmall = ms - floorSmall;
    const ownLarge = large.get(name)! - floorLarge;
    const growth = ownLarge / ownSmall;
    worst = Math.max(worst, growth);
    say(`| ${name} | ${fmt(ms)} | ${fmt(ownSmall)} | ${fmt(large.get(name)!)} | ${fmt(ownLarge)} | ${fmt(growth)}× |`);
  }
  say();
  say(
    `Worst growth of a list route's own cost: **${fmt(worst, 3)}×** (goal ≤ ${GOALS.listGrowth}: ${goal(worst <= GOALS.listGrowth)})`,
  );
  say();
  say(
    `Growing the database by ${(LARGE - SMALL).toLocaleString('en')} tasks took ${fmt(growSeconds, 0)} s; ` +
      `its files: ${fmt(smallMiB, 1)} MiB with ${SMALL.toLocaleString('en')} tasks, ${fmt(largeMiB, 1)} MiB with ${LARGE.toLocaleString('en')}.`,
  );
} finally {
  agent.destroy();
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
}

if (options.write) {
  const machine = [
    `- CPU: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.availableParallelism()} CPUs available`,
    `- memory: ${fmt(os.totalmem() / 2 ** 30, 1)} GiB; ${os.type()} ${os.release()} (${os.arch()})`,
    `- Node ${process.version}, wrangler ${packageVersion('wrangler')}, workerd ${packageVersion('workerd')}`,
    `- measured ${new Date().toISOString().slice(0, 10)} under \`wrangler dev\` (local D1), ${SECONDS} s per interleaved measurement`,
  ];
  const file = path.join(projectRoot, 'bench', 'RESULTS.md');
  const header = readFileSync(file, 'utf8').split('<!-- results -->')[0];
  writeFileSync(file, `${header}<!-- results -->\n\n## Machine\n\n${machine.join('\n')}\n\n${lines.join('\n')}\n`);
  console.log(`\nWrote ${path.relative(projectRoot, file)}.`);
}

function packageVersion(name: string): string {
  const file = path.join(projectRoot, 'node_modules', name, 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

process.exitCode = failures > 0 ? 1 : 0;

/**
 * `npm run bench`: what a request costs, as ratios any machine can check.
 *
 * 1. Throughput: the API root (the floor: routing, the middleware, no D1), the anonymous task
 *    list, the same list with a token, verify, a task read and a task create, interleaved request
 *    by request in a random order on one keep-alive connection, so every route meets the same
 *    machine state. A route's throughput is 1 / its mean latency (trimmed of the slowest and
 *    fastest 2 %), printed as a ratio to the floor; the list with a token against the list
 *    without one has a goal (at least 0.95).
 * 2. CPU: each route alone, in rounds of 100 requests (the median round), and eight logins, reading
 *    the CPU time the workerd process spent (the Worker and the local D1) from /proc.
 * 3. Growth: a copy of the database grows from 10,000 to 1,000,000 tasks (100 tasks for each user
 *    at both sizes, so a page of users shows as many task ids); both are served at once and every
 *    list route is measured on both in one interleaved loop. A route's own cost is its latency
 *    minus its server's floor (goal: it grows at most 1.5 times).
 *
 * Each database is `npm start --persist-to` on a free port in a temporary directory; rows are
 * inserted straight into it. Linux only (/proc). `npm run bench -- --write` also writes the
 * tables, and the machine, to bench/RESULTS.md.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { hashPassword } from '../src/auth/passwords.ts';
import { freePorts } from '../scripts/free-port.ts';
import { withLocalD1 } from '../scripts/local-d1.ts';
import { startLocalServer, workerdStats, type LocalServer } from '../scripts/local-server.ts';
import { projectRoot } from '../scripts/wrangler.ts';

const TASKS_PER_USER = 100;
const SMALL = 10_000;
const LARGE = 1_000_000;
const PASSWORD = 'bench password 1';
/** Made by Django (PBKDF2PasswordHasher, 1,000,000 iterations: Django 5.2's default). */
const DJANGO_1M_HASH = 'pbkdf2_sha256$1000000$importsalt1000000$7dgGHhXFKQMAIrzG7cPwHYIAdTsJ66fNDag4SrLwvs8=';
const DJANGO_PASSWORD = 'tutorial-pass';
const DJANGO_USERS = ['django1', 'django2', 'django3'];
const GOALS = { authenticatedOverAnonymous: 0.95, listGrowth: 1.5 };

const { values: options } = parseArgs({
  options: {
    write: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '60' },
  },
});
/** How long each interleaved measurement runs. */
const SECONDS = Number(options.seconds);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-'));
/** The unit of CPU times in /proc (USER_HZ). */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

// ---- the database ----

/** Adds users (bench1, bench2, ...) up to `tasks / TASKS_PER_USER`, each with 100 tasks. */
async function growTo(persistTo: string, tasks: number): Promise<void> {
  const hash = await hashPassword(PASSWORD);
  await withLocalD1(persistTo, async (db) => {
    const count = await db
      .prepare("SELECT COUNT(*) AS count FROM users WHERE username >= 'bench' AND username < 'benci'")
      .first<number>('count');
    const from = (count ?? 0) + 1;
    const to = tasks / TASKS_PER_USER;
    // Chunks of 1,000 users and their 100,000 tasks: one batch of two statements each, the count
    // triggers included.
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
  /** The server that answers it. */
  base: string;
  path: string;
  method?: 'GET' | 'POST' | 'PATCH';
  /** The body of the request numbered `n`. */
  body?: (n: number) => string;
  token?: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let sent = 0;

/** One request on the server's keep-alive connection; its latency in ms. Anything but 2xx fails. */
function send(route: Route): Promise<number> {
  const body = route.body?.(++sent);
  const headers: Record<string, string> = {};
  if (route.token) headers.Authorization = `Bearer ${route.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = http.request(
      `${route.base}${route.path}`,
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

/** A uniformly random order (Fisher–Yates). */
function shuffled<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

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
async function interleaved(routes: Route[]): Promise<Map<string, number>> {
  const samples = new Map<string, number[]>(routes.map((r) => [r.name, []]));
  for (let i = 0; i < 20; i++) for (const route of routes) await send(route); // warm-up
  const end = performance.now() + SECONDS * 1000;
  while (performance.now() < end) {
    for (const route of shuffled(routes)) samples.get(route.name)!.push(await send(route));
  }
  return new Map([...samples].map(([name, values]) => [name, trimmedMean(values)]));
}

/** CPU time (user + system, ms) of the service's workerd processes, from /proc. */
function workerdCpuMs(server: LocalServer): number {
  const tick = 1000 / CLOCK_TICKS;
  return workerdStats(server).reduce((total, fields) => total + (Number(fields[11]) + Number(fields[12])) * tick, 0);
}

/** The workerd CPU time per request of `route`, sent `count` times alone. */
async function cpuPerRequest(server: LocalServer, route: Route, count: number): Promise<number> {
  const before = workerdCpuMs(server);
  for (let i = 0; i < count; i++) await send(route);
  await new Promise((resolve) => setTimeout(resolve, 200)); // work after the answer (a login's record)
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

const loginOf = (username: string) => ({ username, password: PASSWORD });

async function login(base: string, username: string): Promise<{ token: string; userId: number }> {
  const { token } = (await json(base, '/api-auth/', { method: 'POST', body: loginOf(username) })) as { token: string };
  const me = await json(base, '/users/me/', { token });
  return { token, userId: me.id as number };
}

async function firstTaskOf(base: string, person: number): Promise<number> {
  const page = await json(base, `/tasks/?person=${person}&limit=1`);
  return (page.results as { id: number }[])[0]!.id;
}

const floorOf = (base: string): Route => ({ name: 'GET / (floor)', base, path: '/' });

/** The list routes, anonymous, with one person's tasks (`person`) and a second cursor page. */
async function listRoutes(base: string, person: number): Promise<Route[]> {
  const first = await json(base, '/tasks/?ordering=-due_to&cursor=');
  return [
    floorOf(base),
    { name: 'GET /tasks/', base, path: '/tasks/' },
    { name: 'GET /tasks/?ordering=-due_to', base, path: '/tasks/?ordering=-due_to' },
    { name: 'GET /tasks/?ordering=title', base, path: '/tasks/?ordering=title' },
    { name: 'GET /tasks/?person=…&ordering=-due_to', base, path: `/tasks/?person=${person}&ordering=-due_to` },
    { name: 'GET /tasks/?cursor=… (page 2, -due_to)', base, path: `/tasks/${new URL(first.next as string).search}` },
    { name: 'GET /users/', base, path: '/users/' },
  ];
}

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

const small = path.join(tmp, 'small');
const large = path.join(tmp, 'large');
const servers: LocalServer[] = [];
try {
  step(`Seeding ${SMALL.toLocaleString('en')} tasks`);
  await growTo(small, SMALL);
  // Users as Django 5.2 stores them (1,000,000 PBKDF2 iterations), each for one first login.
  await withLocalD1(small, (db) =>
    db.batch(
      DJANGO_USERS.map((username) =>
        db.prepare('INSERT INTO users (username, password, is_active) VALUES (?, ?, 1)').bind(username, DJANGO_1M_HASH),
      ),
    ),
  );
  let server = await serve(small);
  servers.push(server);
  const { base } = server;
  const reader = await login(base, 'bench1');
  // Tasks are created by the last user, whose tasks no list page measured below shows.
  const writer = await login(base, `bench${SMALL / TASKS_PER_USER}`);
  const ownTask = await firstTaskOf(base, writer.userId);

  const throughputRoutes: Route[] = [
    floorOf(base),
    { name: 'GET /tasks/ (anonymous)', base, path: '/tasks/' },
    { name: 'GET /tasks/ (token)', base, path: '/tasks/', token: reader.token },
    {
      name: 'POST /auth/verify_token/',
      base,
      path: '/auth/verify_token/',
      method: 'POST',
      body: () => JSON.stringify({ token: reader.token }),
    },
    { name: 'GET /tasks/{id}/ (token)', base, path: `/tasks/${ownTask}/`, token: writer.token },
    {
      name: 'POST /tasks/ (token)',
      base,
      path: '/tasks/',
      method: 'POST',
      token: writer.token,
      body: (n) => JSON.stringify({ title: `bench ${n}`, due_to: '2031-01-01T00:00:00Z' }),
    },
  ];
  step(`Throughput, interleaved, ${SECONDS} s`);
  const latency = await interleaved(throughputRoutes);
  const floor = latency.get(throughputRoutes[0]!.name)!;
  say(`### Throughput (one connection, interleaved; ${SMALL.toLocaleString('en')} tasks)`);
  say();
  say('| route | mean latency (ms) | requests/s | ratio to the floor |');
  say('|---|---:|---:|---:|');
  for (const { name } of throughputRoutes) {
    const ms = latency.get(name)!;
    say(`| ${name} | ${fmt(ms)} | ${fmt(1000 / ms, 0)} | ${fmt(floor / ms)} |`);
  }
  const authRatio = latency.get('GET /tasks/ (anonymous)')! / latency.get('GET /tasks/ (token)')!;
  say();
  say(
    `Authenticated / anonymous list: **${fmt(authRatio, 3)}** (goal ≥ ${GOALS.authenticatedOverAnonymous}: ${goal(authRatio >= GOALS.authenticatedOverAnonymous)})`,
  );
  say();

  step('CPU time per request, each route alone');
  const cpuRoutes: Route[] = [
    ...throughputRoutes,
    { name: 'GET /users/', base, path: '/users/' },
    {
      name: 'PATCH /tasks/{id}/ (token)',
      base,
      path: `/tasks/${ownTask}/`,
      method: 'PATCH',
      token: writer.token,
      body: (n) => JSON.stringify({ title: `changed ${n}` }),
    },
  ];
  // Rounds of 100 requests of each route alone, routes in a new random order each round; the
  // median round of each route, so a busy moment of the machine does not decide.
  const cpuRounds = new Map<string, number[]>(cpuRoutes.map(({ name }) => [name, []]));
  for (let round = 0; round < 5; round++) {
    for (const route of shuffled(cpuRoutes)) cpuRounds.get(route.name)!.push(await cpuPerRequest(server, route, 100));
  }
  const cpu = new Map([...cpuRounds].map(([name, values]) => [name, median(values)]));
  const floorCpu = cpu.get(cpuRoutes[0]!.name)!;
  say('### CPU time of the workerd process per request (each route alone: median of 5 rounds of 100)');
  say();
  say('| route | CPU (ms) | own: minus the floor (ms) |');
  say('|---|---:|---:|');
  say(`| ${cpuRoutes[0]!.name} | ${fmt(floorCpu, 1)} | |`);
  for (const { name } of cpuRoutes.slice(1))
    say(`| ${name} | ${fmt(cpu.get(name)!, 1)} | ${fmt(cpu.get(name)! - floorCpu, 1)} |`);
  // Eight logins: the limit per username is 10 a minute.
  const loginRoute: Route = {
    name: 'POST /api-auth/ (login)',
    base,
    path: '/api-auth/',
    method: 'POST',
    body: () => JSON.stringify(loginOf('bench2')),
  };
  const loginCpu = await cpuPerRequest(server, loginRoute, 8);
  say(`| ${loginRoute.name} (8 requests) | ${fmt(loginCpu, 1)} | ${fmt(loginCpu - floorCpu, 1)} |`);
  // A first login with an imported hash: checked in JavaScript, then replaced (after the answer).
  const firstLogins = [];
  for (const username of DJANGO_USERS) {
    const route: Route = {
      name: 'first login, Django 5.2 hash',
      base,
      path: '/api-auth/',
      method: 'POST',
      body: () => JSON.stringify({ username, password: DJANGO_PASSWORD }),
    };
    firstLogins.push(await cpuPerRequest(server, route, 1));
  }
  const importedCpu = median(firstLogins);
  say(
    `| POST /api-auth/ (first login with a Django 5.2 hash, 1,000,000 iterations; median of ${DJANGO_USERS.length}) | ${fmt(importedCpu, 0)} | ${fmt(importedCpu - floorCpu, 0)} |`,
  );
  say();
  await server.stop();
  servers.length = 0;

  // The database as seeded: without the tasks the benchmark created.
  await withLocalD1(small, (db) =>
    db.prepare("DELETE FROM tasks WHERE person_id = ? AND title LIKE 'bench %'").bind(writer.userId).run(),
  );
  step(`Growing a copy to ${LARGE.toLocaleString('en')} tasks`);
  cpSync(small, large, { recursive: true });
  const growStarted = performance.now();
  await growTo(large, LARGE);
  const growSeconds = (performance.now() - growStarted) / 1000;

  // Both sizes served at once and measured in one interleaved loop, so both meet the same machine.
  server = await serve(small);
  servers.push(server);
  const largeServer = await serve(large);
  servers.push(largeServer);
  const smallRoutes = await listRoutes(server.base, reader.userId);
  const largeRoutes = (await listRoutes(largeServer.base, reader.userId)).map((route) => ({
    ...route,
    name: `${route.name} @1M`,
  }));
  step(`List latency at both sizes, interleaved, ${SECONDS} s`);
  const both = await interleaved([...smallRoutes, ...largeRoutes]);

  say(
    `### List latency, ${SMALL.toLocaleString('en')} and ${LARGE.toLocaleString('en')} tasks (one connection, interleaved, ms)`,
  );
  say();
  say('| route | 10k: latency | 10k: own cost | 1M: latency | 1M: own cost | own cost growth |');
  say('|---|---:|---:|---:|---:|---:|');
  const [smallFloor, ...smallLists] = smallRoutes.map(({ name }) => both.get(name)!);
  const [largeFloor, ...largeLists] = largeRoutes.map(({ name }) => both.get(name)!);
  say(`| ${smallRoutes[0]!.name} | ${fmt(smallFloor!)} | | ${fmt(largeFloor!)} | | |`);
  let worst = 0;
  smallLists.forEach((ms, i) => {
    const ownSmall = ms - smallFloor!;
    const ownLarge = largeLists[i]! - largeFloor!;
    if (ownSmall <= 0.05) throw new Error(`${smallRoutes[i + 1]!.name}: no cost above the floor to compare`);
    const growth = ownLarge / ownSmall;
    worst = Math.max(worst, growth);
    say(
      `| ${smallRoutes[i + 1]!.name} | ${fmt(ms)} | ${fmt(ownSmall)} | ${fmt(largeLists[i]!)} | ${fmt(ownLarge)} | ${fmt(growth)}× |`,
    );
  });
  say();
  say(
    `Worst growth of a list route's own cost: **${fmt(worst, 3)}×** (goal ≤ ${GOALS.listGrowth}: ${goal(worst <= GOALS.listGrowth)})`,
  );
  say();
  say(
    `Growing the copy by ${(LARGE - SMALL).toLocaleString('en')} tasks took ${fmt(growSeconds, 0)} s; ` +
      `the database files: ${fmt(databaseMiB(small), 1)} MiB with ${SMALL.toLocaleString('en')} tasks, ` +
      `${fmt(databaseMiB(large), 1)} MiB with ${LARGE.toLocaleString('en')}.`,
  );
} finally {
  agent.destroy();
  for (const server of servers) await server.stop();
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

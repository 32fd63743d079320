/**
 * `npm run bench`: what a request costs, as ratios any machine can check.
 *
 * 1. Throughput: the API root (the floor: routing, the middleware, no D1), the anonymous task
 *    list, the same list with a token, verify, a task read and a task create, interleaved request
 *    by request in a random order on one keep-alive connection, so every route meets the same
 *    machine state. A route's throughput is 1 / its mean latency (trimmed of the slowest and
 *    fastest 2 %), printed as a ratio to the floor; the list with a token against the list
 *    without one has a goal (at least 0.95).
 * 2. Under load: the anonymous and the authenticated task list with 16 connections (wrk), in
 *    rounds that alternate which goes first; the authenticated list's requests/s against the
 *    anonymous one's has the same goal.
 * 3. CPU: each route alone, in rounds of 100 requests (the median round), and eight logins, reading
 *    the CPU time the workerd process spent (the Worker and the local D1) from /proc.
 * 4. Growth: a copy of the database grows from 10,000 to 1,000,000 tasks (100 tasks for each user
 *    at both sizes, so a page of users shows as many task ids); both are served at once and every
 *    list route is measured on both in one interleaved loop. A route's own cost is its latency
 *    minus its server's floor (goal: it grows at most 1.5 times).
 *
 * Each database is `npm start --persist-to` on a free port in a temporary directory; rows are
 * inserted straight into it. Linux only (/proc), and wrk (`apt-get install wrk`). `npm run bench --
 * --write` also writes the tables, and the machine, to their section of bench/RESULTS.md.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePorts } from '../scripts/free-port.ts';
import { withLocalD1 } from '../scripts/local-d1.ts';
import { startLocalServer, workerdStats, type LocalServer } from '../scripts/local-server.ts';
import { closeConnections, fmt, median, medianRounds, send, shuffled, trimmedMean, type Route } from './measure.ts';
import { machineLines, writeResultsSection } from './results-file.ts';
import { growTo, PASSWORD, TASKS_PER_USER } from './seed.ts';

const SMALL = 10_000;
const LARGE = 1_000_000;
/** Connections of the measurement under load, and its rounds (each route once per round). */
const CONNECTIONS = 16;
const LOAD_ROUNDS = 3;
/** Made by Django (PBKDF2PasswordHasher, 1,000,000 iterations: Django 5.2's default). */
const DJANGO_1M_HASH = 'pbkdf2_sha256$1000000$importsalt1000000$7dgGHhXFKQMAIrzG7cPwHYIAdTsJ66fNDag4SrLwvs8=';
const DJANGO_PASSWORD = 'tutorial-pass';
const DJANGO_USERS = ['django1', 'django2', 'django3'];
const GOALS = { authenticatedOverAnonymous: 0.95, listGrowth: 1.5 };

const { values: options } = parseArgs({
  options: {
    write: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '60' },
    'load-seconds': { type: 'string', default: '20' },
  },
});
/** How long each interleaved measurement runs. */
const SECONDS = Number(options.seconds);
/** How long each wrk run under load lasts. */
const LOAD_SECONDS = Number(options['load-seconds']);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-'));
/** The unit of CPU times in /proc (USER_HZ). */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

// ---- measuring ----

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

/** Requests/s of `route` under CONNECTIONS connections for LOAD_SECONDS (wrk); a non-2xx fails. */
function underLoad(route: Route): number {
  const args = ['-t2', `-c${CONNECTIONS}`, `-d${LOAD_SECONDS}s`];
  if (route.token) args.push('-H', `Authorization: Bearer ${route.token}`);
  let out: string;
  try {
    out = execFileSync('wrk', [...args, `${route.base}${route.path}`], { encoding: 'utf8' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('wrk is missing: apt-get install wrk');
    throw error;
  }
  const failed = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out);
  if (failed) throw new Error(`${route.name} under load: ${failed[0]}`);
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]);
}

/**
 * Each route under load once per round, the order alternating between rounds so neither always
 * meets the machine first: each route's requests/s, summed over the rounds.
 */
function alternatingUnderLoad(routes: [Route, Route]): Map<string, number> {
  const total = new Map(routes.map(({ name }) => [name, 0]));
  for (const route of routes) underLoad(route); // warm-up
  for (let round = 0; round < LOAD_ROUNDS; round++) {
    for (const route of round % 2 ? [...routes].reverse() : routes) {
      total.set(route.name, total.get(route.name)! + underLoad(route));
    }
  }
  return total;
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

  step(`Under load: ${CONNECTIONS} connections, ${LOAD_ROUNDS} rounds of ${LOAD_SECONDS} s per route`);
  const listUnderLoad: [Route, Route] = [throughputRoutes[1]!, throughputRoutes[2]!];
  const load = alternatingUnderLoad(listUnderLoad);
  say(`### Under load (${CONNECTIONS} connections, wrk; ${LOAD_ROUNDS} rounds of ${LOAD_SECONDS} s, alternating)`);
  say();
  say('| route | requests/s |');
  say('|---|---:|');
  for (const { name } of listUnderLoad) say(`| ${name} | ${fmt(load.get(name)! / LOAD_ROUNDS, 0)} |`);
  const loadRatio = load.get(listUnderLoad[1].name)! / load.get(listUnderLoad[0].name)!;
  say();
  say(
    `Authenticated / anonymous list under load: **${fmt(loadRatio, 3)}** (goal ≥ ${GOALS.authenticatedOverAnonymous}: ${goal(loadRatio >= GOALS.authenticatedOverAnonymous)})`,
  );
  say();

  // The keep-alive connection sat idle through the load: the server may have closed it.
  closeConnections();
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
  const cpu = await medianRounds(cpuRoutes, 5, (route) => cpuPerRequest(server, route, 100));
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
  closeConnections();
  for (const server of servers) await server.stop();
  rmSync(tmp, { recursive: true, force: true });
}

if (options.write) {
  const machine = [
    ...machineLines(),
    `- measured ${new Date().toISOString().slice(0, 10)} under \`wrangler dev\` (local D1), ${SECONDS} s per interleaved measurement`,
  ];
  writeResultsSection('wrangler-dev', `## Machine\n\n${machine.join('\n')}\n\n${lines.join('\n')}`);
}

process.exitCode = failures > 0 ? 1 : 0;

/**
 * `npm run bench -- --direct`: how far the Worker is from the limit of the runtime. The built
 * Worker (`wrangler deploy --dry-run`, the bundle a deploy uploads) runs in workerd through
 * Miniflare, with no `wrangler dev` in front, beside an empty Worker (a module answering a
 * constant JSON) in the same workerd process; both are measured in one loop:
 *
 * - CPU per request of each route and of the empty Worker, from the workerd process's own run
 *   time (/proc/<pid>/task/<tid>/schedstat, in nanoseconds): rounds of requests of one route alone,
 *   the routes in a new random order each round, the median round of each. A route's ratio to the
 *   empty Worker is what the service costs over the cheapest Worker there is.
 * - The CPU of one login (PBKDF2 with 100,000 iterations, the service's and the runtime's limit)
 *   against the Workers Free plan's 10 ms of CPU per request.
 *
 * The local D1 is SQLite inside the same workerd process, so a route's CPU includes the
 * database's; on Cloudflare, D1 runs elsewhere. Linux only (/proc).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { unstable_readConfig } from 'wrangler';
import { newOidcSigningKey } from '../scripts/oidc-key.ts';
import { projectRoot, wranglerBin, wranglerEnv } from '../scripts/wrangler.ts';
import { profileWorker } from './profile.ts';
import { closeConnections, fmt, medianRounds, median, send, type Route } from './measure.ts';
import { machineLines, writeResultsSection } from './results-file.ts';
import { growTo, PASSWORD, TASKS_PER_USER } from './seed.ts';

const { values: options } = parseArgs({
  options: { write: { type: 'boolean', default: false }, profile: { type: 'string' } },
});
const TASKS = 10_000;
const REQUESTS_PER_ROUND = 300;
const ROUNDS = 7;
const LOGINS = 9;
/** The Workers Free plan's CPU time per request. */
const FREE_PLAN_CPU_MS = 10;
/** --profile: the inspector's port, and the requests profiled. */
const INSPECTOR_PORT = 9229;
const INSPECTOR = `http://127.0.0.1:${INSPECTOR_PORT}`;
const PROFILED = 3000;
const EMPTY_WORKER = 'export default { fetch() { return Response.json({ detail: "empty" }); } };';

const lines: string[] = [];
const say = (line = '') => {
  console.log(line);
  lines.push(line);
};
const step = (text: string) => process.stderr.write(`${text}\n`);

/** `wrangler deploy --dry-run`: the bundle and its modules, as a deploy would upload them. */
function buildWorker(outdir: string) {
  execFileSync(process.execPath, [wranglerBin, 'deploy', '--dry-run', '--outdir', outdir], {
    cwd: projectRoot,
    env: wranglerEnv,
    stdio: 'ignore',
  });
  const types: Record<string, 'ESModule' | 'Text'> = { '.js': 'ESModule', '.txt': 'Text' };
  return readdirSync(outdir)
    .filter((file) => path.extname(file) in types)
    .sort((a, b) => Number(b === 'index.js') - Number(a === 'index.js')) // the entry first
    .map((file) => ({
      type: types[path.extname(file)]!,
      path: path.join(outdir, file),
      contents: readFileSync(path.join(outdir, file), 'utf8'),
    }));
}

/** The run time (ns) of every thread of the workerd processes this process started. */
function workerdCpuNs(): number {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (name !== 'workerd' || parent !== process.pid) continue;
    for (const thread of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${thread}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended meanwhile
      }
    }
  }
  return total;
}

/** CPU (ms) of workerd per request of `route`, sent `count` times alone. */
async function cpuPerRequest(route: Route, count: number, settleMs = 0): Promise<number> {
  const before = workerdCpuNs();
  for (let i = 0; i < count; i++) await send(route);
  // Work after the answer (a login's record) counts too.
  if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
  return (workerdCpuNs() - before) / 1e6 / count;
}

/** --profile: where one route's time goes in its Worker's isolate, by function. */
async function profileRoute(routes: Route[], emptyRoute: Route, modules: { contents: string }[]): Promise<void> {
  const route = routes.find(({ name }) => name === options.profile);
  if (!route) throw new Error(`--profile takes one of: ${routes.map(({ name }) => name).join('; ')}`);
  for (let i = 0; i < 200; i++) await send(route);
  const bundle = route === emptyRoute ? EMPTY_WORKER : modules[0]!.contents;
  const {
    functions,
    modules: packages,
    total,
  } = await profileWorker(INSPECTOR, route === emptyRoute ? 'empty' : 'api', PROFILED, bundle, async () => {
    for (let i = 0; i < PROFILED; i++) await send(route);
  });
  console.log(`${route.name}: ${fmt(total, 3)} ms per request in the Worker's isolate (samples; idle included)`);
  console.log('\nBy package (ms per request):');
  for (const [name, ms] of packages.slice(0, 20)) console.log(`${fmt(ms, 4)}  ${name}`);
  console.log('\nBy function (ms per request):');
  for (const [name, ms] of functions.slice(0, 30)) console.log(`${fmt(ms, 4)}  ${name}`);
}

/** CPU per request of every route and of a login, printed and kept for --write. */
async function measureCpu(routes: Route[], emptyRoute: Route, loginRoute: Route): Promise<void> {
  step('Warming up');
  for (let i = 0; i < 50; i++) for (const route of routes) await send(route);
  step(`CPU per request: ${ROUNDS} rounds of ${REQUESTS_PER_ROUND} requests of each route alone`);
  const cpu = await medianRounds(routes, ROUNDS, (route) => cpuPerRequest(route, REQUESTS_PER_ROUND));
  const empty = cpu.get(emptyRoute.name)!;
  const root = cpu.get(routes[1]!.name)!;

  step(`${LOGINS} logins, one at a time`);
  const logins: number[] = [];
  for (let i = 0; i < LOGINS; i++) logins.push(await cpuPerRequest(loginRoute, 1, 100));
  const login = median(logins);

  say(`### CPU per request in workerd, without \`wrangler dev\` (${TASKS.toLocaleString('en')} tasks)`);
  say();
  say(
    `Median of ${ROUNDS} rounds of ${REQUESTS_PER_ROUND} requests of each route alone, one keep-alive connection, in one workerd process with the empty Worker.`,
  );
  say();
  say('| route | CPU (ms) | ratio to the empty Worker | over the API root (ms) |');
  say('|---|---:|---:|---:|');
  for (const route of routes) {
    const ms = cpu.get(route.name)!;
    const own = route === emptyRoute || route === routes[1] ? '' : fmt(ms - root, 3);
    say(`| ${route.name} | ${fmt(ms, 3)} | ${fmt(ms / empty, 1)}× | ${own} |`);
  }
  say();
  say(
    `A login (\`POST /api-auth/\`, PBKDF2-SHA256 with 100,000 iterations; median of ${LOGINS}): **${fmt(login, 1)} ms** of CPU, ` +
      `${fmt(login / FREE_PLAN_CPU_MS, 1)}× the Workers Free plan's ${FREE_PLAN_CPU_MS} ms per request.`,
  );
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-direct-'));
const config = unstable_readConfig({ config: path.join(projectRoot, 'wrangler.toml') }, { hideWarnings: true });
let mf: Miniflare | undefined;
try {
  step('Building the Worker (wrangler deploy --dry-run)');
  const modules = buildWorker(path.join(tmp, 'built'));
  step(`Seeding ${TASKS.toLocaleString('en')} tasks`);
  const persistTo = path.join(tmp, 'state');
  await growTo(persistTo, TASKS);

  const compatibility = {
    compatibilityDate: config.compatibility_date!,
    compatibilityFlags: config.compatibility_flags,
  };
  mf = new Miniflare(
    convertV4MiniflareOptions({
      ...(options.profile !== undefined ? { inspectorPort: INSPECTOR_PORT } : {}),
      resourcePersistencePath: path.join(persistTo, 'v3'), // where wrangler's --persist-to keeps D1
      workers: [
        {
          name: 'api',
          ...compatibility,
          routes: ['api.bench/*'],
          modulesRoot: path.join(tmp, 'built'),
          modules,
          bindings: {
            ...(config.vars as Record<string, string>),
            JWT_SECRET: randomBytes(48).toString('base64url'),
            OIDC_SIGNING_KEY: newOidcSigningKey(),
            EMAIL_BACKEND: 'console',
          },
          d1Databases: Object.fromEntries(
            config.d1_databases.map((db: { binding: string; database_id?: string }) => [db.binding, db.database_id!]),
          ),
        },
        { name: 'empty', ...compatibility, routes: ['empty.bench/*'], modules: true, script: EMPTY_WORKER },
      ],
    }),
  );
  const base = String(await mf.ready).replace(/\/$/, '');
  const api = { base, host: 'api.bench' };
  const json = async (route: string, init: { method?: string; token?: string; body?: unknown } = {}) => {
    const response = await mf!.dispatchFetch(`http://api.bench${route}`, {
      method: init.method ?? 'GET',
      headers: {
        'Content-Type': 'application/json',
        ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    if (!response.ok) throw new Error(`${route}: ${response.status} ${await response.text()}`);
    return (await response.json()) as Record<string, unknown>;
  };
  const loginAs = async (username: string) => {
    const { token } = (await json('/api-auth/', { method: 'POST', body: { username, password: PASSWORD } })) as {
      token: string;
    };
    return { token, userId: (await json('/users/me/', { token })).id as number };
  };
  const reader = await loginAs('bench1');
  const writer = await loginAs(`bench${TASKS / TASKS_PER_USER}`);
  const ownTask = ((await json(`/tasks/?person=${writer.userId}&limit=1`)).results as { id: number }[])[0]!.id;

  const emptyRoute: Route = { name: 'empty Worker', base, host: 'empty.bench', path: '/' };
  const routes: Route[] = [
    emptyRoute,
    { name: 'GET / (the API root, no D1)', ...api, path: '/' },
    { name: 'GET /tasks/ (anonymous)', ...api, path: '/tasks/' },
    { name: 'GET /tasks/ (token)', ...api, path: '/tasks/', token: reader.token },
    {
      name: 'POST /auth/verify_token/',
      ...api,
      path: '/auth/verify_token/',
      method: 'POST',
      body: () => JSON.stringify({ token: reader.token }),
    },
    { name: 'GET /tasks/{id}/ (token)', ...api, path: `/tasks/${ownTask}/`, token: writer.token },
    {
      name: 'POST /tasks/ (token)',
      ...api,
      path: '/tasks/',
      method: 'POST',
      token: writer.token,
      body: (n) => JSON.stringify({ title: `bench ${n}`, due_to: '2031-01-01T00:00:00Z' }),
    },
    {
      name: 'PATCH /tasks/{id}/ (token)',
      ...api,
      path: `/tasks/${ownTask}/`,
      method: 'PATCH',
      token: writer.token,
      body: (n) => JSON.stringify({ title: `changed ${n}` }),
    },
    { name: 'GET /users/', ...api, path: '/users/' },
  ];
  if (options.profile !== undefined) await profileRoute(routes, emptyRoute, modules);
  else
    await measureCpu(routes, emptyRoute, {
      name: 'POST /api-auth/',
      ...api,
      path: '/api-auth/',
      method: 'POST',
      body: () => JSON.stringify({ username: 'bench2', password: PASSWORD }),
    });
} finally {
  closeConnections();
  await mf?.dispose();
  rmSync(tmp, { recursive: true, force: true });
}

if (options.write) {
  const machine = [
    ...machineLines(),
    `- measured ${new Date().toISOString().slice(0, 10)} in workerd through Miniflare`,
  ];
  writeResultsSection(
    'direct',
    `## The limit: the built Worker in workerd, beside an empty Worker\n\n${machine.join('\n')}\n\n${lines.join('\n')}`,
  );
}

/**
 * `npm run soak`: mixed traffic against `npm start --persist-to <tmp>` on a loopback port for a
 * bounded time (`--minutes`, default 10) from several simulated clients (`--connections`, default
 * 8), each its own user and its own CF-Connecting-IP, so the per-IP and per-username limits of
 * wrangler.toml meet one client's pace (logins are spaced to stay under them; a 429 is counted
 * apart). The mix: token logins, token refreshes, browser-session logins and cookie refreshes,
 * task lists and reads, creates, patches and deletes, and now and then a password reset with the
 * mailed link (read from the local explorer's outbox), then a login with the new password.
 *
 * Fails on any 5xx, any network error, tasks the clients were told exist that COUNT(*) of the
 * local D1 (read after the server stops) does not match, or workerd's memory (RSS of the
 * server's process group) at the end above 1.2× its memory after the first minute.
 * `--write` puts the summary into bench/RESULTS.md between its own markers.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { hashPassword } from '../src/auth/passwords.ts';
import { freePorts } from '../scripts/free-port.ts';
import { withLocalD1 } from '../scripts/local-d1.ts';
import { startLocalServer, workerdStats, type LocalServer } from '../scripts/local-server.ts';
import { machineLines, writeResultsSection } from './results-file.ts';

const { values: options } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    connections: { type: 'string', default: '8' },
    write: { type: 'boolean', default: false },
  },
});
const MINUTES = Number(options.minutes);
const CLIENTS = Number(options.connections);
const MEMORY_GOAL = 1.2;
const PASSWORD = 'soak password 0';
/** Logins per client at most one each LOGIN_GAP_MS: the per-username limit is 10 a minute. */
const LOGIN_GAP_MS = 8_000;
/** Token refreshes per client at most one each REFRESH_GAP_MS: the per-IP limit is 20 a minute. */
const REFRESH_GAP_MS = 4_000;
/** A password reset per client at most one each RESET_GAP_MS. */
const RESET_GAP_MS = 60_000;
const PAGE_SIZE = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }));

// ---- measuring ----

const latencies = new Map<string, number[]>();
const statuses = new Map<string, Map<number, number>>();
const problems: string[] = [];
let throttled = 0;

/** RSS (bytes) of the workerd processes of the server's process group, from /proc. */
function workerdRss(server: LocalServer): number {
  return workerdStats(server).reduce((total, fields) => total + Number(fields[21]) * PAGE_SIZE, 0);
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

class Client {
  token = '';
  cookie = '';
  password = PASSWORD;
  userId = 0;
  /** Ids of this client's tasks that the API answered 201 for and not yet deleted (204). */
  tasks: number[] = [];
  lastLogin = 0;
  lastRefresh = 0;
  lastReset = Date.now(); // the first reset after a minute
  seenMail = new Set<string>();
  readonly base: string;
  readonly username: string;
  readonly ip: string;
  constructor(base: string, username: string, ip: string) {
    this.base = base;
    this.username = username;
    this.ip = ip;
  }

  get email() {
    return `${this.username}@example.com`;
  }

  async call(
    kind: string,
    route: string,
    {
      method = 'GET',
      body,
      auth = true,
      headers = {},
    }: { method?: string; body?: unknown; auth?: boolean; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const all: Record<string, string> = { 'CF-Connecting-IP': this.ip, ...headers };
    if (body !== undefined) all['Content-Type'] = 'application/json';
    if (auth && this.token) all.Authorization = `Bearer ${this.token}`;
    const started = performance.now();
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.base}${route}`, {
        method,
        headers: all,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      text = await response.text();
    } catch (error) {
      problems.push(`${kind}: network error ${String(error)}`);
      throw error;
    }
    const ms = performance.now() - started;
    (latencies.get(kind) ?? latencies.set(kind, []).get(kind)!).push(ms);
    const byStatus = statuses.get(kind) ?? statuses.set(kind, new Map()).get(kind)!;
    byStatus.set(response.status, (byStatus.get(response.status) ?? 0) + 1);
    if (response.status >= 500) problems.push(`${kind} ${method} ${route}: ${response.status} ${text.slice(0, 300)}`);
    if (response.status === 429) throttled++;
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      // not JSON
    }
    return { status: response.status, body: parsed, headers: response.headers };
  }

  async tokenLogin(): Promise<void> {
    this.lastLogin = Date.now();
    const answer = await this.call('POST /api-auth/ (login)', '/api-auth/', {
      method: 'POST',
      auth: false,
      body: { username: this.username, password: this.password },
    });
    if (answer.status === 200) {
      this.token = answer.body.token as string;
      this.cookie = '';
    }
  }

  async sessionLogin(): Promise<void> {
    this.lastLogin = Date.now();
    const answer = await this.call('POST /auth/session/ (login)', '/auth/session/', {
      method: 'POST',
      auth: false,
      headers: { Origin: this.base },
      body: { username: this.username, password: this.password },
    });
    if (answer.status === 200) {
      this.token = answer.body.token as string;
      this.cookie = cookieOf(answer.headers) ?? '';
    }
  }

  async refresh(): Promise<void> {
    if (this.cookie) {
      const answer = await this.call('POST /auth/session/refresh/', '/auth/session/refresh/', {
        method: 'POST',
        auth: false,
        headers: { Origin: this.base, Cookie: this.cookie },
      });
      if (answer.status === 200) {
        this.token = answer.body.token as string;
        this.cookie = cookieOf(answer.headers) ?? this.cookie;
      } else if (answer.status !== 429)
        problems.push(`session refresh: ${answer.status} ${JSON.stringify(answer.body)}`);
    } else {
      // Limited per IP (20 a minute): at most one each REFRESH_GAP_MS.
      if (Date.now() - this.lastRefresh < REFRESH_GAP_MS) return this.list();
      this.lastRefresh = Date.now();
      const answer = await this.call('POST /auth/refresh_token/', '/auth/refresh_token/', {
        method: 'POST',
        auth: false,
        body: { token: this.token },
      });
      if (answer.status === 200) this.token = answer.body.token as string;
      else if (answer.status !== 429) problems.push(`token refresh: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
  }

  async list(): Promise<void> {
    await this.call('GET /tasks/?person=…', `/tasks/?person=${this.userId}`);
  }

  async read(): Promise<void> {
    const id = pick(this.tasks);
    if (id === undefined) return this.list();
    await this.call('GET /tasks/{id}/', `/tasks/${id}/`);
  }

  async create(): Promise<void> {
    const answer = await this.call('POST /tasks/', '/tasks/', {
      method: 'POST',
      body: { title: `soak ${Math.random().toString(36).slice(2)}`, due_to: '2031-01-01T00:00:00Z' },
    });
    if (answer.status === 201) this.tasks.push(answer.body.id as number);
    else if (answer.status !== 429) problems.push(`create: ${answer.status} ${JSON.stringify(answer.body)}`);
  }

  async patch(): Promise<void> {
    const id = pick(this.tasks);
    if (id === undefined) return this.create();
    const answer = await this.call('PATCH /tasks/{id}/', `/tasks/${id}/`, {
      method: 'PATCH',
      body: { title: 'patched' },
    });
    if (answer.status !== 200) problems.push(`patch ${id}: ${answer.status} ${JSON.stringify(answer.body)}`);
  }

  async remove(): Promise<void> {
    const id = pick(this.tasks);
    if (id === undefined) return this.create();
    const answer = await this.call('DELETE /tasks/{id}/', `/tasks/${id}/`, { method: 'DELETE' });
    if (answer.status === 204) this.tasks.splice(this.tasks.indexOf(id), 1);
    else problems.push(`delete ${id}: ${answer.status} ${JSON.stringify(answer.body)}`);
  }

  /** A reset request, the link from the outbox, the new password, a login with it. */
  async reset(): Promise<void> {
    this.lastReset = Date.now();
    const asked = await this.call('POST /auth/password/reset/', '/auth/password/reset/', {
      method: 'POST',
      auth: false,
      body: { email: this.email },
    });
    if (asked.status !== 200) return;
    const link = await this.mailedLink();
    if (!link) {
      problems.push(`reset: no mail to ${this.email}`);
      return;
    }
    const next = `soak password ${Date.now()}`;
    const confirmed = await this.call('POST /auth/password/reset/confirm/', '/auth/password/reset/confirm/', {
      method: 'POST',
      auth: false,
      body: { token: link.split('/app/password-reset/')[1], new_password: next },
    });
    if (confirmed.status !== 200) {
      if (confirmed.status !== 429)
        problems.push(`reset confirm: ${confirmed.status} ${JSON.stringify(confirmed.body)}`);
      return;
    }
    this.password = next;
    this.token = '';
    this.cookie = '';
    await this.tokenLogin();
  }

  /** The newest reset link mailed to this client's address that it has not used. */
  async mailedLink(): Promise<string | undefined> {
    const api = `${this.base}/cdn-cgi/local/explorer/api/local/email/sending`;
    for (let attempt = 0; attempt < 25; attempt++) {
      const list = (await (await fetch(`${api}?per_page=100`)).json()) as {
        result: { messageId: string; to: string[]; sentAt: string }[];
      };
      const fresh = list.result
        .filter((mail) => mail.to.includes(this.email) && !this.seenMail.has(mail.messageId))
        .sort((a, b) => b.sentAt.localeCompare(a.sentAt));
      for (const mail of fresh) {
        this.seenMail.add(mail.messageId);
        const detail = (await (await fetch(`${api}?email_id=${encodeURIComponent(mail.messageId)}`)).json()) as {
          result: { text?: string };
        };
        const link = /https?:\/\/\S+\/app\/password-reset\/\S+/.exec(detail.result.text ?? '')?.[0];
        if (link) return link;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return undefined;
  }

  /** One step of the mix: a login when none is held or now and then, else mostly tasks. */
  async step(): Promise<void> {
    const now = Date.now();
    const mayLogIn = now - this.lastLogin >= LOGIN_GAP_MS;
    if (!this.token) {
      if (!mayLogIn) return new Promise((resolve) => setTimeout(resolve, LOGIN_GAP_MS - (now - this.lastLogin)));
      return Math.random() < 0.5 ? this.tokenLogin() : this.sessionLogin();
    }
    if (now - this.lastReset >= RESET_GAP_MS && Math.random() < 0.05) return this.reset();
    const roll = Math.random() * 100;
    if (mayLogIn && roll < 4) return Math.random() < 0.5 ? this.tokenLogin() : this.sessionLogin();
    if (roll < 10) return this.refresh();
    if (roll < 40) return this.list();
    if (roll < 60) return this.read();
    if (roll < 78) return this.create();
    if (roll < 90) return this.patch();
    return this.remove();
  }
}

function cookieOf(headers: Headers): string | undefined {
  const set = headers.getSetCookie().find((value) => !/max-age=0/i.test(value));
  return set?.split(';')[0];
}

const pick = <T>(items: T[]): T | undefined => items[Math.floor(Math.random() * items.length)];

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
};

// ---- the run ----

const tmp = mkdtempSync(path.join(os.tmpdir(), 'soak-'));
const persistTo = path.join(tmp, 'state');
const usernames = Array.from({ length: CLIENTS }, (_, i) => `soak${i + 1}`);
let server: LocalServer | undefined;
let stopping = false;
const stopServer = async () => {
  const running = server;
  server = undefined;
  await running?.stop();
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopping = true;
    void stopServer().finally(() => {
      rmSync(tmp, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);
const MiB = (bytes: number) => bytes / 2 ** 20;
const lines: string[] = [];
const say = (line = '') => {
  console.log(line);
  lines.push(line);
};

let clients: Client[] = [];
let rssFirstMinute = 0;
let rssEnd = 0;
let counted: { tasks: number; expected: number; users: number; perUser: string[] } | undefined;
const started = Date.now();
try {
  const hash = await hashPassword(PASSWORD);
  await withLocalD1(persistTo, (db) =>
    db.batch(
      usernames.map((username) =>
        db
          .prepare('INSERT INTO users (username, email, password, is_active, email_verified) VALUES (?, ?, ?, 1, 1)')
          .bind(username, `${username}@example.com`, hash),
      ),
    ),
  );
  const [port] = await freePorts(1);
  server = await startLocalServer(port!, ['--persist-to', persistTo]);
  const { base } = server;
  // Each client is a user from an address of its own (TEST-NET-2, never routed).
  clients = usernames.map((username, i) => new Client(base, username, `198.51.100.${i + 1}`));
  for (const client of clients) {
    await client.tokenLogin();
    const me = await client.call('GET /users/me/', '/users/me/');
    client.userId = me.body.id as number;
  }
  const end = started + MINUTES * 60_000;
  const firstMinute = setTimeout(() => {
    if (server) rssFirstMinute = workerdRss(server);
    process.stderr.write(`  after 1 min: workerd RSS ${fmt(MiB(rssFirstMinute))} MiB\n`);
  }, 60_000);
  const progress = setInterval(() => {
    const total = [...latencies.values()].reduce((sum, v) => sum + v.length, 0);
    process.stderr.write(
      `  ${fmt((Date.now() - started) / 60_000)} min: ${total} requests, ${problems.length} problems\n`,
    );
  }, 30_000);
  process.stderr.write(`Soak: ${CLIENTS} clients for ${MINUTES} min on ${base}\n`);
  await Promise.all(
    clients.map(async (client) => {
      while (Date.now() < end && !stopping) await client.step().catch(() => undefined);
    }),
  );
  clearTimeout(firstMinute);
  clearInterval(progress);
  rssEnd = workerdRss(server);
  if (rssFirstMinute === 0) rssFirstMinute = rssEnd; // a run shorter than a minute
  await stopServer();

  const perUser = new Map(clients.map((client) => [client.userId, client.tasks.length]));
  counted = await withLocalD1(persistTo, async (db) => {
    const tasks = (await db.prepare('SELECT COUNT(*) AS n FROM tasks').first<number>('n')) ?? -1;
    const users = (await db.prepare('SELECT COUNT(*) AS n FROM users').first<number>('n')) ?? -1;
    const { results } = await db
      .prepare('SELECT person_id AS id, COUNT(*) AS n FROM tasks GROUP BY person_id')
      .all<{ id: number; n: number }>();
    const mismatched = results
      .filter(({ id, n }) => perUser.get(id) !== n)
      .map(({ id, n }) => `user ${id}: ${n} rows, ${perUser.get(id) ?? 0} created and not deleted`);
    return { tasks, expected: [...perUser.values()].reduce((a, b) => a + b, 0), users, perUser: mismatched };
  });
} finally {
  await stopServer();
  rmSync(tmp, { recursive: true, force: true });
}

// ---- the summary ----

const total = [...latencies.values()].reduce((sum, v) => sum + v.length, 0);
const seconds = (Date.now() - started) / 1000;
say(`### Soak (${CLIENTS} clients, ${MINUTES} min, loopback)`);
say();
say('| request | count | statuses | p50 (ms) | p99 (ms) |');
say('|---|---:|---|---:|---:|');
for (const [kind, values] of [...latencies].sort(([a], [b]) => a.localeCompare(b))) {
  const byStatus = [...statuses.get(kind)!].sort(([a], [b]) => a - b).map(([s, n]) => `${s}: ${n}`);
  say(
    `| ${kind} | ${values.length} | ${byStatus.join(', ')} | ${fmt(quantile(values, 0.5))} | ${fmt(quantile(values, 0.99))} |`,
  );
}
const all = [...latencies.values()].flat();
say(
  `| all | ${total} | 5xx: ${problems.filter((p) => / 5\d\d /.test(p)).length}, 429: ${throttled} | ${fmt(quantile(all, 0.5))} | ${fmt(quantile(all, 0.99))} |`,
);
say();
const ratio = rssFirstMinute > 0 ? rssEnd / rssFirstMinute : Infinity;
const memoryOk = ratio <= MEMORY_GOAL;
const countsOk = counted !== undefined && counted.tasks === counted.expected && counted.perUser.length === 0;
say(`- ${fmt(total / seconds, 0)} requests/s over ${fmt(seconds, 0)} s; 429s (throttled, not failures): ${throttled}`);
say(
  `- tasks: ${counted?.tasks} rows by COUNT(*), ${counted?.expected} created (201) and not deleted (204) by the clients: ${countsOk ? 'match' : '**mismatch**'}; users: ${counted?.users}`,
);
say(
  `- workerd RSS: ${fmt(MiB(rssFirstMinute))} MiB after the first minute, ${fmt(MiB(rssEnd))} MiB at the end: ${fmt(ratio, 3)}× (goal ≤ ${MEMORY_GOAL}: ${memoryOk ? 'met' : '**not met**'})`,
);
say(`- problems (5xx, network errors, unexpected answers): ${problems.length}`);
for (const problem of problems.slice(0, 20)) console.error(`  ${problem}`);
for (const mismatch of counted?.perUser ?? []) console.error(`  ${mismatch}`);

if (options.write) {
  writeResultsSection(
    'soak',
    `## Soak\n\n\`npm run soak\`, measured ${new Date().toISOString().slice(0, 10)}:\n\n${machineLines().join('\n')}\n\n${lines.join('\n')}`,
  );
}

process.exitCode = problems.length === 0 && countsOk && memoryOk ? 0 : 1;

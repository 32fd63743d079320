/** Builds users, tokens and requests for tests; every test makes its own data with unique names. */
import { env, exports } from 'cloudflare:workers';
import { onTestFinished } from 'vitest';
import { createApp } from '../src/app';
import { hashPassword } from '../src/auth/passwords';
import { issueAccessToken, issueActivationToken } from '../src/auth/tokens';
import { getSettings } from '../src/config';
import { getDb } from '../src/db/client';
import { users } from '../src/db/schema';

export const SITE_URL = 'http://localhost:8787';

export const settings = () => getSettings(env);

/**
 * A request as a client somewhere on the internet sends it: each from its own IP unless the test
 * sets CF-Connecting-IP, so the per-IP rate limits (active in tests) only meet the tests about them.
 */
function clientRequest(path: string, init?: RequestInit): Request {
  // A redirect is an answer to look at, as a client sees it, never followed.
  const request = new Request(`http://api.test${path}`, { redirect: 'manual', ...init });
  if (!request.headers.has('CF-Connecting-IP')) request.headers.set('CF-Connecting-IP', randomIp());
  return request;
}

const randomIp = () =>
  `10.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`;

/** A request through the Worker's real entry point. */
export async function call(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(clientRequest(path, init));
}

export function postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return call(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** A JSON request with a token (`Bearer` unless another prefix is given). */
export function send(
  method: string,
  path: string,
  { token, body, prefix = 'Bearer' }: { token?: string; body?: unknown; prefix?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `${prefix} ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return call(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

export interface SentMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

let recordingBinding: SendEmail | undefined;

/**
 * Records every message the app sends through the EMAIL binding, and still sends it through the
 * real binding (or fails the first `failures`), until the test ends. Calls through callWithEnv
 * use it (it runs without an execution context, so mail is sent before the response returns).
 */
export function recordMail({ failures = 0 } = {}): SentMail[] {
  const sent: SentMail[] = [];
  recordingBinding = {
    send: async (message: SentMail) => {
      sent.push(message);
      if (sent.length <= failures) throw new Error('provider down: a@b.c');
      return env.EMAIL.send(message);
    },
  } as unknown as SendEmail;
  onTestFinished(() => {
    recordingBinding = undefined;
  });
  return sent;
}

/** A request to a fresh app whose environment differs from wrangler.toml's by `overrides`. */
export async function callWithEnv(
  overrides: Record<string, unknown>,
  path: string,
  init?: RequestInit,
): Promise<Response> {
  const mail = recordingBinding ? { EMAIL: recordingBinding } : {};
  return createApp().request(clientRequest(path, init), undefined, { ...env, ...mail, ...overrides });
}

let counter = 0;
export const uniqueName = (prefix = 'user') => `${prefix}_${Date.now().toString(36)}_${(counter++).toString(36)}`;

export interface TestUser {
  id: number;
  username: string;
  password: string;
  isStaff: boolean;
  tokenVersion: number;
}

// Hashing costs PBKDF2's full 100,000 iterations, once per password rather than once per user:
// the users a test makes share a hash where the hash is not what it tests.
const hashes = new Map<string, string>();
async function hashOnce(password: string): Promise<string> {
  let hash = hashes.get(password);
  if (hash === undefined) hashes.set(password, (hash = await hashPassword(password)));
  return hash;
}

/** Inserts a user straight into D1 (active unless told otherwise). */
export async function createUser({
  password = 'correct horse battery staple',
  isActive = true,
  isStaff = false,
  username = uniqueName(),
  passwordHash,
  emailVerified = true,
}: {
  password?: string;
  isActive?: boolean;
  isStaff?: boolean;
  username?: string;
  passwordHash?: string;
  /** Whether the owner proved the address (password resets and notices go only to such). */
  emailVerified?: boolean;
} = {}): Promise<TestUser> {
  const [row] = await getDb(env.DB)
    .insert(users)
    .values({
      username,
      email: `${username}@example.com`,
      password: passwordHash ?? (await hashOnce(password)),
      isActive,
      isStaff,
      emailVerified,
    })
    .returning({ id: users.id });
  return { id: row!.id, username, password, isStaff, tokenVersion: 0 };
}

/** A user (see createUser) and an access token of theirs. */
export async function createUserWithToken(options: Parameters<typeof createUser>[0] = {}) {
  const user = await createUser(options);
  return { ...user, token: await accessTokenFor(user) };
}

export const accessTokenFor = (user: TestUser, options?: Parameters<typeof issueAccessToken>[2]) =>
  issueAccessToken(user, settings(), options);

export const activationTokenFor = (userId: number, jti: string, now?: Date) =>
  issueActivationToken(userId, jti, settings(), now);

export async function obtainToken(username: string, password: string): Promise<string> {
  const response = await postJson('/api-auth/', { username, password });
  if (response.status !== 200) throw new Error(`obtain failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

/** Registers a user and returns the activation URL the API answered with. */
export async function register(
  username = uniqueName(),
  password = 'a long enough password',
): Promise<{ username: string; password: string; confirmationUrl: string }> {
  const response = await postJson('/api-register/', { username, password, email: `${username}@example.com` });
  if (response.status !== 201) throw new Error(`register failed: ${response.status} ${await response.text()}`);
  const { confirmation_url } = (await response.json()) as { confirmation_url: string };
  return { username, password, confirmationUrl: confirmation_url };
}

/** The path of an absolute URL built from SITE_URL, to call it through the test entry point. */
export const pathOf = (url: string) => new URL(url).pathname;

/** Splits a JWT into its decoded header and payload (no verification: for assertions only). */
export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header, payload] = token
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))));
  return { header, payload };
}

/**
 * A proxy of a D1 binding whose `handler` applies to the binding and to every session made from
 * it with withSession (each request runs in one: src/http/d1-session.ts).
 */
export function proxyD1(binding: D1Database, handler: ProxyHandler<any>): D1Database {
  return new Proxy(binding, {
    get(target, property, receiver) {
      if (property === 'withSession') {
        return (...args: Parameters<D1Database['withSession']>) => new Proxy(target.withSession(...args), handler);
      }
      return handler.get!(target, property, receiver);
    },
  });
}

type Run = 'all' | 'run' | 'first' | 'raw';
const RUNS: readonly (string | symbol)[] = ['all', 'run', 'first', 'raw'];

/** What a test proxy of D1 (hookD1) does around the binding's calls; each hook is optional. */
interface D1Hooks {
  /** Sees the values a statement binds. */
  bind?(values: unknown[]): void;
  /** Runs a statement (`original` runs it as it would have), bound or not. */
  run?(statement: D1PreparedStatement, method: Run, original: () => Promise<unknown>): Promise<unknown>;
  /** Runs a batch or an exec. */
  batch?(original: () => Promise<D1Result[]>, statements: D1PreparedStatement[]): Promise<D1Result[]>;
  exec?(original: () => Promise<D1ExecResult>): Promise<D1ExecResult>;
}

/**
 * A proxy of a D1 binding (and of its sessions, see proxyD1) whose statements, as prepared and as
 * bound, and whose batches pass through `hooks`: the one wrapping the test proxies below share.
 */
function hookD1(binding: D1Database, hooks: D1Hooks): D1Database {
  const wrapStatement = (statement: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (property === 'bind') {
          return (...values: unknown[]) => {
            hooks.bind?.(values);
            return wrapStatement(value.apply(target, values));
          };
        }
        if (hooks.run && RUNS.includes(property)) {
          return (...args: unknown[]) => hooks.run!(target, property as Run, () => value.apply(target, args));
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  return proxyD1(binding, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property === 'prepare') return (query: string) => wrapStatement(value.call(target, query));
      if (property === 'batch' && hooks.batch) {
        return (statements: D1PreparedStatement[]) => hooks.batch!(() => value.call(target, statements), statements);
      }
      if (property === 'exec' && hooks.exec) return (query: string) => hooks.exec!(() => value.call(target, query));
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * Wraps a D1 binding to record how many values each statement binds: D1 refuses more than 100,
 * where the local SQLite allows far more.
 */
export function boundValuesD1(binding: D1Database): { binding: D1Database; mostBound: () => number } {
  let most = 0;
  const wrapped = hookD1(binding, { bind: (values) => void (most = Math.max(most, values.length)) });
  return { binding: wrapped, mostBound: () => most };
}

/** Wraps a D1 binding so a test can count the statements a request sends to the database. */
export function countingD1(binding: D1Database): { binding: D1Database; count: () => number } {
  let statements = 0;
  const counted = <T>(original: () => Promise<T>) => {
    statements++;
    return original();
  };
  const wrapped = hookD1(binding, {
    run: (_statement, _method, original) => counted(original),
    batch: counted,
    exec: counted,
  });
  return { binding: wrapped, count: () => statements };
}

/**
 * A D1 binding that adds up `meta.rows_read` of every statement. Drizzle reads rows with `raw()`,
 * whose answer carries no meta, so this proxy answers `raw()` from `all()` (same rows, in column
 * order) to read it.
 */
export function measuringD1(): { binding: D1Database; rowsRead: () => number } {
  let rows = 0;
  const count = (result: D1Result) => {
    rows += result.meta.rows_read;
    return result;
  };
  const binding = hookD1(env.DB, {
    run: async (statement, method, original) => {
      if (method === 'all' || method === 'run') return count((await original()) as D1Result);
      const { results } = count(await statement.all());
      return method === 'raw' ? (results as Record<string, unknown>[]).map(Object.values) : (results[0] ?? null);
    },
    batch: async (original) => (await original()).map(count),
  });
  return { binding, rowsRead: () => rows };
}

/** The SQL of a statement as D1's binding keeps it (a property of workerd's D1PreparedStatement). */
const sqlOf = (statement: D1PreparedStatement) => String((statement as unknown as { statement: string }).statement);
const WRITE = /^\s*(with\b[\s\S]*?\b)?(insert|update|delete|replace)\b/i;

/** One call a request made to D1: a statement or a batch, and whether it writes. */
export interface D1Call {
  sql: string[];
  writes: boolean;
}

/**
 * A D1 binding whose `failAt`-th call (a statement or a batch, counting from 1; 0: none) fails as
 * D1 fails: with D1's error for a lost connection, or (`hang`) a promise that never settles, so
 * the app's statement timeout must answer. Every call, the failed one included, goes to `onCall`.
 */
export function faultyD1(
  binding: D1Database,
  { failAt = 0, mode = 'error', onCall }: { failAt?: number; mode?: 'error' | 'hang'; onCall?: (call: D1Call) => void },
): D1Database {
  let calls = 0;
  const attempt = <T>(sql: string[], original: () => Promise<T>): Promise<T> => {
    onCall?.({ sql, writes: sql.some((text) => WRITE.test(text)) });
    if (++calls !== failAt) return original();
    if (mode === 'hang') return new Promise<T>(() => {});
    return Promise.reject(new Error('D1_ERROR: Network connection lost.'));
  };
  return hookD1(binding, {
    run: (statement, _method, original) => attempt([sqlOf(statement)], original),
    batch: (original, statements) => attempt(statements.map(sqlOf), original),
  });
}

/**
 * What an unexpected failure logs: the request id (also sent as X-Request-Id), the error's class,
 * the statement's shape and SQLite's code; never a value from the request or the database.
 */
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { callWithEnv, createUserWithToken, proxyD1, uniqueName } from './helpers';

afterEach(() => {
  vi.restoreAllMocks();
});

/** A real D1 binding whose statements on `table` fail inside D1 (the table name is swapped). */
function failingOn(table: string): D1Database {
  return proxyD1(env.DB, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property === 'prepare') {
        return (sql: string) => target.prepare(sql.replaceAll(`"${table}"`, '"no_such_table"'));
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function captureErrors() {
  const lines: string[] = [];
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    lines.push(args.map((arg) => (typeof arg === 'string' ? arg : (JSON.stringify(arg) ?? String(arg)))).join(' '));
  });
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  });
  return lines;
}

describe('an unexpected D1 error', () => {
  it('during registration logs its class, SQLite code and request id, not the username, email or hash', async () => {
    const lines = captureErrors();
    const username = uniqueName('secret_name');
    const email = `${username}@private.example`;
    const response = await callWithEnv({ DB: failingOn('users') }, '/api-register/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, email, password: 'a private passphrase' }),
    });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ detail: 'A server error occurred.' });
    const requestId = response.headers.get('X-Request-Id');
    expect(requestId).toMatch(/^[\w-]{8,}$/);

    const log = lines.join('\n');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!) as Record<string, string>;
    expect(entry).toMatchObject({ requestId, message: 'Unhandled error', sqliteCode: 'SQLITE_ERROR' });
    expect(entry.error).toMatch(/Error$/);
    for (const secret of [username, email, 'a private passphrase', 'pbkdf2_sha256']) {
      expect(log).not.toContain(secret);
    }
  });

  it('during a task write logs neither the title nor the caller', async () => {
    const owner = await createUserWithToken();
    const lines = captureErrors();
    const response = await callWithEnv({ DB: failingOn('tasks') }, '/tasks/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${owner.token}` },
      body: JSON.stringify({ title: 'a very private title', due_to: '2030-01-01T00:00:00Z' }),
    });
    expect(response.status).toBe(500);
    const log = lines.join('\n');
    const entry = JSON.parse(lines[0]!) as Record<string, string>;
    expect(entry).toMatchObject({ requestId: response.headers.get('X-Request-Id'), sqliteCode: 'SQLITE_ERROR' });
    expect(entry.error).toMatch(/^DrizzleQueryError/);
    expect(entry.statement).toMatch(/^insert into "tasks" \(.*\) select null as "id", \? as "title"/);
    expect(log).not.toContain('a very private title');
    expect(log).not.toContain(owner.username);
  });
});

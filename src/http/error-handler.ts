/**
 * Renders anything thrown: an ApiError as its DRF body, a SettingsError as a 500 that names the
 * setting, anything else as a logged 500 that leaks nothing. Log lines carry the request id and
 * the shape of what failed, never a value the request or the database held.
 */
import type { Context } from 'hono';
import { SettingsError } from '../settings-error';
import { DatabaseUnavailable } from '../db/guarded-d1';
import { ApiError, databaseUnavailable } from '../drf/errors';
import type { AppEnv } from '../env';

/** What a failed query was, without its bound parameters: Drizzle's error keeps the SQL with `?`. */
function statementOf(error: Error): string | undefined {
  return 'query' in error && typeof error.query === 'string' ? error.query : undefined;
}

/**
 * The error's class chain (`DrizzleQueryError <- Error`), the failed statement's SQL, SQLite's
 * result code and the stack frames: enough to find the fault, and no message text, which may
 * quote user data (D1's messages quote the bound parameters).
 */
function describeForLog(error: unknown): Record<string, string> {
  const classes: string[] = [];
  const described: Record<string, string> = {};
  for (let current = error; current !== undefined; current = current instanceof Error ? current.cause : undefined) {
    if (!(current instanceof Error)) {
      classes.push(typeof current);
      break;
    }
    // Libraries often leave `name` as "Error"; the class says more (DrizzleQueryError).
    classes.push(current.name === 'Error' ? current.constructor.name || current.name : current.name);
    described.statement ??= statementOf(current)!;
    const code = /\bSQLITE_[A-Z_]+\b/.exec(current.message)?.[0];
    if (code) described.sqliteCode ??= code;
    // Only the frames: the stack's first lines repeat the message.
    const frames = current.stack?.split('\n').filter((line) => /^\s+at /.test(line));
    if (frames?.length) described.stack ??= frames.map((line) => line.trim()).join('\n');
  }
  return Object.fromEntries(
    Object.entries({ error: classes.join(' <- '), ...described }).filter(([, value]) => value !== undefined),
  );
}

/** The DatabaseUnavailable in `error`'s cause chain (Drizzle wraps what the driver threw). */
function databaseFault(error: unknown): DatabaseUnavailable | undefined {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current instanceof DatabaseUnavailable) return current;
  }
  return undefined;
}

const render = (c: Context<AppEnv>, error: ApiError) => c.json(error.body, error.status, error.headers);

export function renderError(error: unknown, c: Context<AppEnv>): Response {
  if (error instanceof ApiError) return render(c, error);
  const requestId = c.get('requestId');
  const fault = databaseFault(error);
  if (fault) {
    const { stack: _, ...described } = describeForLog(error);
    console.error(JSON.stringify({ requestId, message: 'Database unavailable', reason: fault.reason, ...described }));
    return render(c, databaseUnavailable());
  }
  if (error instanceof SettingsError) {
    console.error(JSON.stringify({ requestId, message: `Server misconfigured: ${error.message}` }));
    return c.json({ detail: `Server misconfigured: ${error.message}` }, 500);
  }
  console.error(JSON.stringify({ requestId, message: 'Unhandled error', ...describeForLog(error) }));
  return c.json({ detail: 'A server error occurred.' }, 500);
}

/**
 * D1, like any remote database, fails now and then: overloaded, a network blip, a statement that
 * never answers. Every statement and batch of a request goes through this wrapper, which turns
 * such a failure, or a wait past D1_STATEMENT_TIMEOUT_MS, into a DatabaseUnavailable that the
 * error handler answers with a 503 and Retry-After. SQLite's own errors (a constraint, a bad
 * statement) pass unchanged: routes handle the first, and the second is a bug (a 500).
 */

export class DatabaseUnavailable extends Error {
  override readonly name = 'DatabaseUnavailable';
  constructor(
    readonly reason: 'timeout' | 'error',
    options?: ErrorOptions,
  ) {
    super(`D1 ${reason}`, options);
  }
}

/** SQLite's answers to the statement itself, as D1 reports them: deterministic, not a fault. */
const SQLITE_ERROR = /SQLITE_[A-Z]+|constraint failed|no such (table|column)|syntax error|too many SQL variables/;

function asUnavailable(error: unknown): unknown {
  if (error instanceof Error && SQLITE_ERROR.test(error.message)) return error;
  return new DatabaseUnavailable('error', { cause: error });
}

function withinTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnavailable('timeout')), timeoutMs);
  });
  const guarded = work.catch((error: unknown) => {
    throw asUnavailable(error);
  });
  return Promise.race([guarded, timeout]).finally(() => clearTimeout(timer));
}

class GuardedStatement {
  constructor(
    readonly inner: D1PreparedStatement,
    private readonly timeoutMs: number,
  ) {}

  bind(...values: unknown[]): GuardedStatement {
    return new GuardedStatement(this.inner.bind(...values), this.timeoutMs);
  }

  first(column?: string): Promise<unknown> {
    return withinTimeout(column === undefined ? this.inner.first() : this.inner.first(column), this.timeoutMs);
  }

  run(): Promise<D1Result> {
    return withinTimeout(this.inner.run(), this.timeoutMs);
  }

  all(): Promise<D1Result> {
    return withinTimeout(this.inner.all(), this.timeoutMs);
  }

  raw(options?: { columnNames?: boolean }): Promise<unknown[]> {
    return withinTimeout(this.inner.raw(options as { columnNames: true }), this.timeoutMs);
  }
}

/** What Drizzle and our code call on a D1 session: prepare and batch (see src/db/client.ts). */
export function guardD1(session: D1DatabaseSession, timeoutMs: number): D1DatabaseSession {
  return {
    prepare: (query: string) =>
      new GuardedStatement(session.prepare(query), timeoutMs) as unknown as D1PreparedStatement,
    batch: <T>(statements: D1PreparedStatement[]) =>
      withinTimeout(
        session.batch<T>(
          statements.map((statement) =>
            statement instanceof GuardedStatement ? (statement.inner as D1PreparedStatement) : statement,
          ),
        ),
        timeoutMs,
      ),
    getBookmark: () => session.getBookmark(),
  };
}

/**
 * Every request goes through its own D1 session (the Sessions API), so reads may come from a
 * nearby read replica while a client still reads its own writes:
 *
 * - A request that sends back the `X-D1-Bookmark` of an earlier response reads data at least that
 *   fresh (its session starts at that bookmark).
 * - Otherwise a write (any method but GET, HEAD, OPTIONS), and a read whose token is checked against
 *   the user's current state (JWT_REVOCATION_CHECK), start at the primary; other reads anywhere.
 *
 * Every response carries the session's latest bookmark in `X-D1-Bookmark`.
 *
 * A statement that fails for D1's sake, or waits past D1_STATEMENT_TIMEOUT_MS, answers 503.
 */
import { createMiddleware } from 'hono/factory';
import { getDb } from '../db/client';
import { guardD1 } from '../db/guarded-d1';
import type { AppEnv } from '../env';

/** What a D1 bookmark looks like; anything else is ignored (never echoed, never sent to D1). */
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const d1Session = createMiddleware<AppEnv>(async (c, next) => {
  const bookmark = c.req.header('X-D1-Bookmark')?.trim().toLowerCase();
  const freshness =
    !READS.has(c.req.method) || (c.get('settings').jwtRevocationCheck && c.req.header('Authorization') !== undefined)
      ? 'first-primary'
      : 'first-unconstrained';
  const session = c.env.DB.withSession(bookmark !== undefined && BOOKMARK.test(bookmark) ? bookmark : freshness);
  // A failed or hung statement becomes a 503 (src/db/guarded-d1.ts).
  c.set('db', getDb(guardD1(session, c.get('settings').d1StatementTimeoutMs)));
  await next();
  const latest = session.getBookmark();
  if (latest !== null) c.header('X-D1-Bookmark', latest);
});

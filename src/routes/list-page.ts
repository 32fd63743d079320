/** A list page of tasks or users: its count and its rows in one D1 round trip, in DRF's envelope. */
import type { Context } from 'hono';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Database } from '../db/client';
import { paginate } from '../drf/pagination';
import type { AppEnv } from '../env';

type Query<T> = BatchItem<'sqlite'> & PromiseLike<T[]>;

/**
 * Runs the count query (one row) and the rows query of a page as one batch. Name every computed
 * column (`.as('name')`) unless its SQL text already is a name that is not a number: D1 answers a
 * batch with objects, and a column named like a number (`1`) would come first in one and shift
 * Drizzle's mapping of the others.
 */
export async function fetchPage<TCount extends { count: number }, TRow>(
  db: Database,
  count: Query<TCount>,
  rows: Query<TRow>,
): Promise<{ total: TCount; rows: TRow[] }> {
  const [[total], rowList] = (await db.batch([count, rows])) as [TCount[], TRow[]];
  return { total: total!, rows: rowList };
}

/** The page envelope for `path` (e.g. `/tasks/`), with links under SITE_URL. */
export function pageResponse<T>(
  c: Context<AppEnv>,
  { path, limit, offset }: { path: string; limit: number; offset: number },
  count: number,
  results: T[],
) {
  return c.json(
    paginate(results, { count, limit, offset }, { siteUrl: c.get('settings').siteUrl, path, requestUrl: c.req.url }),
  );
}

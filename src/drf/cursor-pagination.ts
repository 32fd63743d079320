/**
 * DRF's CursorPagination, on request: `?cursor=` (empty for the first page) answers
 * `{"next", "previous", "results"}`, where the links carry opaque cursors. A cursor holds the
 * ordering keys of the row it continues from, so a page at any depth reads `limit + 1` rows from
 * the index of its ordering (the keyset), never the rows before it. It is bound to its ordering
 * and signed (HMAC, see cursorKey): a changed cursor, or one used with another ordering, is DRF's
 * 404 "Invalid cursor".
 */
import { and, eq, gt, lt, type SQL } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { unionAll, type SQLiteSelect } from 'drizzle-orm/sqlite-core';
import type { Context } from 'hono';
import * as z from 'zod';
import { cursorKey } from '../auth/keys';
import { base64url, fromBase64url } from '../base64url';
import type { Settings } from '../config';
import type { AppEnv } from '../env';
import { detail, fieldErrors } from './errors';
import { orderByKeys, type Ordering } from './ordering';

type KeyValue = string | number;
// Any selection: the caller's Row types the rows.
type AsyncSelect = SQLiteSelect<string, 'async', unknown, any, any, any>;

export interface CursorPosition {
  /** The ordering keys of the row to continue from. */
  values: KeyValue[];
  /** True for a `previous` link: the rows before that row, in reverse. */
  reverse: boolean;
}

export const cursorQuery = z.string().optional().meta({
  description: 'Cursor pagination: empty for the first page, then the cursor of a `next` or `previous` link.',
});

const invalidCursor = () => detail(404, 'Invalid cursor');

async function sign(settings: Settings, payload: string): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', await cursorKey(settings), new TextEncoder().encode(payload));
  return base64url(new Uint8Array(mac).slice(0, 16));
}

async function encodeCursor(settings: Settings, ordering: Ordering, position: CursorPosition): Promise<string> {
  const payload = base64url(
    new TextEncoder().encode(JSON.stringify({ o: ordering.text, v: position.values, r: position.reverse ? 1 : 0 })),
  );
  return `${payload}.${await sign(settings, payload)}`;
}

/** The position a cursor names; null for the first page (`?cursor=`); 404 for anything else. */
export async function decodeCursor(
  settings: Settings,
  ordering: Ordering,
  cursor: string,
): Promise<CursorPosition | null> {
  if (ordering.keys.some(({ descending }) => descending !== ordering.keys[0]!.descending)) {
    throw fieldErrors({ ordering: ['Cursor pagination needs every ordering field in the same direction.'] });
  }
  if (cursor === '') return null;
  const [payload, mac, ...rest] = cursor.split('.');
  if (!payload || !mac || rest.length > 0 || cursor.length > 2048) throw invalidCursor();
  const expected = new TextEncoder().encode(await sign(settings, payload));
  const given = new TextEncoder().encode(mac);
  // Constant-time: the MAC is a secret's output.
  if (expected.length !== given.length || !crypto.subtle.timingSafeEqual(expected, given)) throw invalidCursor();
  let decoded: unknown;
  try {
    decoded = JSON.parse(new TextDecoder().decode(fromBase64url(payload)));
  } catch {
    throw invalidCursor();
  }
  const { o, v, r } = decoded as { o?: unknown; v?: unknown; r?: unknown };
  // The MAC vouches for the rest; only the ordering may differ (a cursor used with another one).
  if (o !== ordering.text || !Array.isArray(v)) throw invalidCursor();
  return { values: v as KeyValue[], reverse: r === 1 };
}

/**
 * The query of a page from `position`: at most `limit + 1` rows after it in the page's direction,
 * from `member(condition)`, the list's query narrowed by `condition`. "After (v1, v2)" is one
 * member per key (k1 > v1; k1 = v1 AND k2 > v2) merged in order by a UNION ALL: SQLite seeks
 * each member exactly in the ordering's index, where the row value (k1, k2) > (v1, v2) would
 * seek on k1 alone and read every row of a tie on v1 that an earlier page showed.
 */
export function cursorRows<Row>(
  member: (condition: SQL | undefined) => AsyncSelect & PromiseLike<Row[]>,
  ordering: Ordering,
  position: CursorPosition | null,
  limit: number,
): BatchItem<'sqlite'> & PromiseLike<Row[]> {
  const order = orderByKeys(ordering.keys, position?.reverse ?? false);
  if (position === null)
    return member(undefined)
      .orderBy(...order)
      .limit(limit + 1);
  const forwardIsGreater = !ordering.keys[0]!.descending;
  const after = forwardIsGreater !== position.reverse ? gt : lt;
  const [first, second, ...rest] = ordering.keys.map(({ column }, i) =>
    member(
      and(
        ...ordering.keys.slice(0, i).map((key, j) => eq(key.column, position.values[j])),
        after(column, position.values[i]),
      ),
    ),
  );
  const merged = second === undefined ? first! : unionAll(first!, second, ...rest);
  return merged.orderBy(...order).limit(limit + 1) as BatchItem<'sqlite'> & PromiseLike<Row[]>;
}

/**
 * The envelope of a page of `rows` (read with `limit + 1` to know whether more follow), whose
 * ordering keys `keysOf` gives; links are the list's URL under SITE_URL with the client's query.
 */
export async function cursorPage<T, R>(
  c: Context<AppEnv>,
  {
    path,
    ordering,
    limit,
    position,
  }: { path: string; ordering: Ordering; limit: number; position: CursorPosition | null },
  fetched: T[],
  keysOf: (row: T) => KeyValue[],
  serialize: (row: T) => R,
) {
  const settings = c.get('settings');
  const more = fetched.length > limit;
  const rows = fetched.slice(0, limit);
  if (position?.reverse) rows.reverse();
  const link = async (row: T | undefined, reverse: boolean) => {
    if (row === undefined) return null;
    const url = new URL(`${settings.siteUrl}${path}${new URL(c.req.url).search}`);
    url.searchParams.set('cursor', await encodeCursor(settings, ordering, { values: keysOf(row), reverse }));
    url.searchParams.sort();
    return url.href;
  };
  // Forwards, more rows means a next page; backwards, a previous one. Coming from a cursor, the
  // other side has rows too.
  const hasNext = position?.reverse ? true : more;
  const hasPrevious = position === null ? false : position.reverse ? more : true;
  return c.json({
    next: hasNext ? await link(rows.at(-1), false) : null,
    previous: hasPrevious ? await link(rows[0], true) : null,
    results: rows.map(serialize),
  });
}

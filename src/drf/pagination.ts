/**
 * DRF's LimitOffsetPagination: `?limit=&offset=`, the `{"count", "next", "previous", "results"}`
 * envelope, and `next` / `previous` links that keep the other query parameters.
 */
import { queryIntegerField } from './fields';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;

/** `limit` 0 or absent means the default and a larger one is cut to the maximum, as in DRF. */
export const paginationQuery = {
  limit: queryIntegerField()
    .transform((limit) => (limit === undefined || limit === 0 ? DEFAULT_LIMIT : Math.min(limit, MAX_LIMIT)))
    .meta({ description: `Page size: default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT}.` }),
  offset: queryIntegerField()
    .transform((offset) => offset ?? 0)
    .meta({ description: 'How many items to skip.' }),
};

interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

/** `url` with `changes` applied to its query, keys sorted as DRF's replace_query_param does. */
function withQuery(url: URL, changes: Record<string, number | null>): string {
  const params = new URLSearchParams(url.search);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) params.delete(key);
    else params.set(key, String(value));
  }
  params.sort();
  const query = params.toString();
  return `${url.origin}${url.pathname}${query ? `?${query}` : ''}`;
}

/**
 * The page envelope. The links are the list's URL under SITE_URL (`path`, e.g. `/tasks/`) with
 * the query the client sent, never the request's Host.
 */
export function paginate<T>(
  results: T[],
  { count, limit, offset }: { count: number; limit: number; offset: number },
  { siteUrl, path, requestUrl }: { siteUrl: string; path: string; requestUrl: string },
): Page<T> {
  const listUrl = new URL(`${siteUrl}${path}${new URL(requestUrl).search}`);
  const next = offset + limit >= count ? null : withQuery(listUrl, { limit, offset: offset + limit });
  const previous =
    offset <= 0 ? null : withQuery(listUrl, { limit, offset: offset - limit <= 0 ? null : offset - limit });
  return { count, next, previous, results };
}

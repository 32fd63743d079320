/** DRF's OrderingFilter (`?ordering=title,-id`), except that a field it does not allow is a 400. */
import { asc, desc, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import * as z from 'zod';

export interface OrderingKey {
  /** The name the query uses (`due_to`). */
  name: string;
  column: SQLiteColumn;
  descending: boolean;
}

export interface Ordering {
  /** The parameter as given, normalised (`title,-id`); empty for the default order. */
  text: string;
  /** Every key in order, the tiebreaker last. */
  keys: OrderingKey[];
  /** ORDER BY terms for `keys`. */
  terms: SQL[];
}

export const orderByKeys = (keys: readonly OrderingKey[], reverse = false): SQL[] =>
  keys.map(({ column, descending }) => (descending !== reverse ? desc(column) : asc(column)));

/**
 * A query parameter naming columns of `fields`, each optionally prefixed by `-` for descending.
 * Parses to keys that end with `tiebreaker` (named `tiebreakerName`) so pages never overlap, in
 * the direction of the key before it: `-due_to` is `due_to DESC, id DESC`, which one index
 * (due_to, id) read backwards serves without sorting.
 */
export function orderingQuery(fields: Record<string, SQLiteColumn>, tiebreakerName: string) {
  // A Map, not the object: `?ordering=constructor` must not find Object.prototype's members.
  const columns = new Map(Object.entries(fields));
  const tiebreaker = columns.get(tiebreakerName)!;
  const choices = [...columns.keys()].flatMap((name) => [name, `-${name}`]);
  return z
    .string()
    .optional()
    .transform((text, ctx): Ordering => {
      const names = (text ?? '')
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
      const keys: OrderingKey[] = [];
      const kept: string[] = [];
      for (const term of names) {
        const name = term.replace(/^-/, '');
        const column = columns.get(name);
        if (!column) {
          ctx.addIssue({
            code: 'custom',
            message: `Select a valid choice. ${term} is not one of the available choices.`,
            input: text,
          });
          return z.NEVER;
        }
        // A repeated name, or any name after the unique tiebreaker, cannot change the order: it is
        // dropped, so the keys (and a cursor's conditions and bound values) stay a handful.
        if (keys.some((key) => key.name === name || key.name === tiebreakerName)) continue;
        keys.push({ name, column, descending: term.startsWith('-') });
        kept.push(term);
      }
      if (keys.at(-1)?.name !== tiebreakerName) {
        keys.push({ name: tiebreakerName, column: tiebreaker, descending: keys.at(-1)?.descending ?? false });
      }
      return { text: kept.join(','), keys, terms: orderByKeys(keys) };
    })
    .meta({ description: `Comma-separated; one of: ${choices.join(', ')}.` });
}

/** DRF's OrderingFilter (`?ordering=title,-id`), except that a field it does not allow is a 400. */
import { asc, desc, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import * as z from 'zod';

/**
 * A query parameter naming columns of `fields`, each optionally prefixed by `-` for descending.
 * Parses to ORDER BY terms that end with `tiebreaker` so pages never overlap, in the direction of
 * the term before it: `-due_to` is `due_to DESC, id DESC`, which one index (due_to, id) read
 * backwards serves without sorting.
 */
export function orderingQuery(fields: Record<string, SQLiteColumn>, tiebreaker: SQLiteColumn) {
  // A Map, not the object: `?ordering=constructor` must not find Object.prototype's members.
  const columns = new Map(Object.entries(fields));
  const choices = [...columns.keys()].flatMap((name) => [name, `-${name}`]);
  return z
    .string()
    .optional()
    .transform((text, ctx): SQL[] => {
      const terms: SQL[] = [];
      let lastDescending = false;
      for (const term of (text ?? '')
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean)) {
        const column = columns.get(term.replace(/^-/, ''));
        if (!column) {
          ctx.addIssue({
            code: 'custom',
            message: `Select a valid choice. ${term} is not one of the available choices.`,
            input: text,
          });
          return z.NEVER;
        }
        lastDescending = term.startsWith('-');
        terms.push(lastDescending ? desc(column) : asc(column));
      }
      return [...terms, lastDescending ? desc(tiebreaker) : asc(tiebreaker)];
    })
    .meta({ description: `Comma-separated; one of: ${choices.join(', ')}.` });
}

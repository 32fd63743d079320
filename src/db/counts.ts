/**
 * The counts of the lists, read from the counters that triggers keep (migration 0007): one row
 * read at any table size, never a `COUNT(*)` that scans.
 */
import { eq, sql } from 'drizzle-orm';
import type { Database } from './client';
import { rowCounts } from './schema';
import { userExists } from './users';

/** One row: how many tasks there are (`person`'s only, when given), and whether `person` exists. */
export const countTasks = (db: Database, person: number | undefined) =>
  db
    .select({
      count: (person === undefined
        ? sql<number>`${rowCounts.count}`
        : sql<number>`coalesce((select counted.task_count from users as counted where counted.id = ${person}), 0)`
      ).as('total'),
      personExists: (person === undefined ? sql<number>`1` : userExists(person)).as('person_exists'),
    })
    .from(rowCounts)
    .where(eq(rowCounts.name, 'tasks'));

/** One row: how many users there are. */
export const countUsers = (db: Database) =>
  db.select({ count: rowCounts.count }).from(rowCounts).where(eq(rowCounts.name, 'users'));

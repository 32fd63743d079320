import { drizzle, type DrizzleD1Database } from 'drizzle-orm/d1';
import * as schema from './schema';

export type Database = DrizzleD1Database<typeof schema>;

const databases = new WeakMap<D1Database | D1DatabaseSession, Database>();

/** The Drizzle client for a D1 binding or session, built once per binding. */
export function getDb(binding: D1Database | D1DatabaseSession): Database {
  let db = databases.get(binding);
  if (!db) {
    // Drizzle only prepares statements and runs batches, which a session does as the binding does.
    db = drizzle(binding as D1Database, { schema, casing: 'snake_case' });
    databases.set(binding, db);
  }
  return db;
}

/**
 * True when `error` (or its cause) is SQLite's constraint failure with `message`, such as
 * `UNIQUE constraint failed: users.username` or `FOREIGN KEY constraint failed`.
 */
export function isConstraintViolation(error: unknown, message: string): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current.message.includes(message)) return true;
  }
  return false;
}

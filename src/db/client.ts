import { createTableRelationsHelpers, extractTablesRelationalConfig } from 'drizzle-orm';
import { DrizzleD1Database, SQLiteD1Session } from 'drizzle-orm/d1';
import { SQLiteAsyncDialect } from 'drizzle-orm/sqlite-core';
import * as schema from './schema';

export type Database = DrizzleD1Database<typeof schema>;

// What `drizzle(binding, { schema, casing })` builds from the schema alone, built once per isolate:
// every request has a D1 session of its own, and drizzle() would walk the schema's tables and
// relations again for each (a tenth of a simple request's CPU).
const dialect = new SQLiteAsyncDialect({ casing: 'snake_case' });
const tablesConfig = extractTablesRelationalConfig(schema, createTableRelationsHelpers);
const relationalSchema = { fullSchema: schema, schema: tablesConfig.tables, tableNamesMap: tablesConfig.tableNamesMap };

const databases = new WeakMap<D1Database | D1DatabaseSession, Database>();

/** The Drizzle client for a D1 binding or session, built once per binding. */
export function getDb(binding: D1Database | D1DatabaseSession): Database {
  let db = databases.get(binding);
  if (!db) {
    // Drizzle only prepares statements and runs batches, which a session does as the binding does.
    const session = new SQLiteD1Session(binding as D1Database, dialect, relationalSchema, {});
    db = new DrizzleD1Database('async', dialect, session, relationalSchema) as Database;
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

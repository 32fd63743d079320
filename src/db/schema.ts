/** Every table and its row types; nothing else. Column names become snake_case (see drizzle.config.ts). */
import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

const now = sql`(cast(unixepoch('subsec') * 1000 as integer))`;

export const users = sqliteTable(
  'users',
  {
    // AUTOINCREMENT: ids are never reused, so a token naming a deleted user never names a new one.
    id: integer().primaryKey({ autoIncrement: true }),
    username: text().notNull().unique(),
    email: text().notNull().default(''),
    /** Django format: pbkdf2_sha256$<iterations>$<salt>$<base64 hash>. */
    password: text().notNull(),
    isActive: integer({ mode: 'boolean' }).notNull().default(false),
    isStaff: integer({ mode: 'boolean' }).notNull().default(false),
    dateJoined: integer({ mode: 'timestamp_ms' }).notNull().default(now),
    lastLogin: integer({ mode: 'timestamp_ms' }),
    /**
     * Carried in access tokens; raising it (logout, password change) ends every refresh chain of
     * the user, and with JWT_REVOCATION_CHECK every token at once.
     */
    tokenVersion: integer().notNull().default(0),
    /** The `jti` of the one activation link that may still activate this user; cleared once used. */
    activationJti: text(),
    /**
     * When that link expires: past it, a never-activated account no longer holds its username or
     * email, and registering again replaces it.
     */
    activationExpiresAt: integer({ mode: 'timestamp_ms' }),
    /** How many tasks the user has: kept by triggers (migration 0007), so `?person=` counts read one row. */
    taskCount: integer().notNull().default(0),
  },
  // Password reset, resend and re-registration find accounts by email, case-insensitively.
  (table) => [index('users_email_lower_idx').on(sql`lower(${table.email})`)],
);

export const tasks = sqliteTable(
  'tasks',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    title: text().notNull(),
    personId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** UTC, `YYYY-MM-DDThh:mm:ss.uuuuuuZ` (see src/drf/datetime.ts): exact microseconds, text order = time order. */
    dueTo: text().notNull(),
  },
  // One index per ordering, alone and within one person's tasks (the id breaks ties), so that a
  // page reads its own rows and not the table.
  (table) => [
    index('tasks_person_id_idx').on(table.personId),
    index('tasks_due_to_idx').on(table.dueTo, table.id),
    index('tasks_title_idx').on(table.title, table.id),
    index('tasks_person_due_to_idx').on(table.personId, table.dueTo, table.id),
    index('tasks_person_title_idx').on(table.personId, table.title, table.id),
  ],
);

/** Rows counted by triggers (migration 0007): `tasks` and `users`, so a list's count reads one row. */
export const rowCounts = sqliteTable('row_counts', {
  name: text().primaryKey(),
  count: integer().notNull(),
});

export type Task = typeof tasks.$inferSelect;

/**
 * Browser sessions (src/routes/sessions.ts): one row per refresh cookie ever issued. A login
 * starts a family; each refresh adds the successor and links the cookie it replaces to it, so a
 * rotated cookie presented again is recognised and its whole family deleted.
 */
export const sessions = sqliteTable(
  'sessions',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    /** Shared by every cookie of one login. */
    family: text().notNull(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** SHA-256 of the cookie's secret (base64url); the secret itself is never stored. */
    secretHash: text().notNull().unique(),
    /** The user's token version at login: raising it (logout, password change, ...) ends the session. */
    tokenVersion: integer().notNull(),
    /** The login; access tokens of the session carry it as `orig_iat`. */
    loginAt: integer({ mode: 'timestamp_ms' }).notNull(),
    /** The absolute end, JWT_REFRESH_EXPIRATION_DELTA after the login; rotation never moves it. */
    expiresAt: integer({ mode: 'timestamp_ms' }).notNull(),
    /** The id of the cookie that replaced this one; null while this one is current. */
    replacedBy: integer(),
    rotatedAt: integer({ mode: 'timestamp_ms' }),
  },
  (table) => [
    index('sessions_family_idx').on(table.family),
    index('sessions_user_id_idx').on(table.userId),
    // Pruning takes the oldest expired rows first.
    index('sessions_expires_at_idx').on(table.expiresAt),
  ],
);

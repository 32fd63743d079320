/** Every table and its row types; nothing else. Column names become snake_case (see drizzle.config.ts). */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

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
    /**
     * Whether a login needs a second step: a confirmed authenticator app or a passkey. Kept with
     * every change of factors (afterFactorChange in src/db/mfa.ts), so a login reads no other table.
     */
    mfaEnabled: integer({ mode: 'boolean' }).notNull().default(false),
    /**
     * Whether the owner proved the address is theirs: an activation link opened from the mail, a
     * confirmed change. Password resets are mailed only to verified addresses.
     */
    emailVerified: integer({ mode: 'boolean' }).notNull().default(false),
    /** The `jti` of the one email change link that may still change the address; cleared once used. */
    emailChangeJti: text(),
    /** The address that link would set (shown to the user until then). */
    pendingEmail: text(),
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
    /** How the user logged in (the tokens' `amr`, space-separated), kept by every refresh. */
    amr: text().notNull().default('pwd'),
    /** The last time the user proved who they are (`auth_time`): the login, or a re-authentication. */
    authTime: integer({ mode: 'timestamp_ms' }),
    /** When this cookie was issued: for the session's current cookie, its last use (a refresh or the login). */
    issuedAt: integer({ mode: 'timestamp_ms' }),
    /** The browser and system of the login, shortened (src/http/user-agent.ts), kept by every refresh. */
    userAgent: text().notNull().default(''),
  },
  (table) => [
    index('sessions_family_idx').on(table.family),
    index('sessions_user_id_idx').on(table.userId),
    // A user's sessions list: the current cookie of each, newest login first, never the rotated
    // rows kept for reuse detection (one per refresh).
    index('sessions_user_current_idx')
      .on(table.userId, table.loginAt)
      .where(sql`${table.replacedBy} is null`),
    // Pruning takes the oldest expired rows first.
    index('sessions_expires_at_idx').on(table.expiresAt),
  ],
);

/**
 * A user's authenticator app (RFC 6238). Secrets are sealed (src/auth/secret-box.ts): a copy of
 * the database alone gives no codes. `pendingSecret` waits for its first code (enrolment);
 * `secret` is set once confirmed. `lastStep` is the newest time step accepted, so a code works once.
 */
export const totpFactors = sqliteTable('totp_factors', {
  userId: integer()
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  secret: text(),
  pendingSecret: text(),
  lastStep: integer().notNull().default(0),
  confirmedAt: integer({ mode: 'timestamp_ms' }),
  /** Wrong codes in the current window (per user, whatever the route): see src/db/mfa.ts. */
  failures: integer().notNull().default(0),
  failuresResetAt: integer({ mode: 'timestamp_ms' })
    .notNull()
    .default(sql`0`),
});

/** Single-use recovery codes: SHA-256 of each (they carry 80 random bits); used ones are deleted. */
export const recoveryCodes = sqliteTable(
  'recovery_codes',
  {
    // No AUTOINCREMENT: these ids never leave the database, and every insert into an
    // AUTOINCREMENT table reads sqlite_sequence, one row per such table in use.
    id: integer().primaryKey(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    codeHash: text().notNull(),
  },
  (table) => [index('recovery_codes_user_idx').on(table.userId, table.codeHash)],
);

/**
 * The second step of a login (an `mfa+jwt` token names its row by `jti`): how many codes were
 * tried, and whether it already gave a token. Deleted after expiry by later logins.
 */
export const mfaLogins = sqliteTable(
  'mfa_logins',
  {
    jti: text().primaryKey(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tries: integer().notNull().default(0),
    done: integer({ mode: 'boolean' }).notNull().default(false),
    expiresAt: integer({ mode: 'timestamp_ms' }).notNull(),
  },
  (table) => [index('mfa_logins_expires_at_idx').on(table.expiresAt)],
);

/**
 * WebAuthn credentials (passkeys). `credentialId` and `publicKey` are base64url; `counter` is the
 * authenticator's last sign count; `userHandle` (base64url) is the same for all of a user's
 * passkeys, so an authenticator keeps one credential per account.
 */
export const passkeys = sqliteTable(
  'passkeys',
  {
    id: integer().primaryKey({ autoIncrement: true }),
    credentialId: text().notNull().unique(),
    userId: integer()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    userHandle: text().notNull(),
    name: text().notNull(),
    publicKey: text().notNull(),
    counter: integer().notNull().default(0),
    /** Space-separated hints the browser gave (usb, nfc, ble, internal, hybrid). */
    transports: text().notNull().default(''),
    /** `singleDevice` or `multiDevice` (synced); `backedUp`: the credential is backed up now. */
    deviceType: text().notNull(),
    backedUp: integer({ mode: 'boolean' }).notNull(),
    createdAt: integer({ mode: 'timestamp_ms' }).notNull().default(now),
    lastUsedAt: integer({ mode: 'timestamp_ms' }),
  },
  (table) => [index('passkeys_user_idx').on(table.userId)],
);

/**
 * Outstanding WebAuthn challenges: each used once (deleted when answered), for one purpose, bound
 * to a user (registration, re-authentication) or to a login's `mfa_token` (its jti), or to nobody
 * (a passwordless login). Expired ones are deleted by later requests.
 */
export const webauthnChallenges = sqliteTable(
  'webauthn_challenges',
  {
    challenge: text().primaryKey(),
    purpose: text({ enum: ['register', 'login', 'mfa', 'reauth'] }).notNull(),
    userId: integer().references(() => users.id, { onDelete: 'cascade' }),
    mfaJti: text(),
    /** For a registration: the user handle the options named, stored with the new passkey. */
    userHandle: text(),
    expiresAt: integer({ mode: 'timestamp_ms' }).notNull(),
  },
  (table) => [index('webauthn_challenges_expires_at_idx').on(table.expiresAt)],
);

/**
 * The audit log (src/audit/): who did what to which account, kept AUDIT_RETENTION_DAYS. A change
 * and its event are written in one batch. Usernames are copied in, so a page reads its own rows
 * and an event outlives the account it names. `details` is JSON without secrets.
 */
export const auditEvents = sqliteTable(
  'audit_events',
  {
    // No AUTOINCREMENT (see recovery_codes): ids only order events, and pruning keeps the newest.
    id: integer().primaryKey(),
    at: integer({ mode: 'timestamp_ms' }).notNull(),
    kind: text().notNull(),
    /** Who acted (null: nobody logged in, such as a failed login); not a foreign key, events outlive users. */
    actorId: integer(),
    actorName: text(),
    /** Whose account it concerns. */
    subjectId: integer(),
    subjectName: text(),
    requestId: text().notNull(),
    ip: text().notNull(),
    /** Shortened (src/http/user-agent.ts), as sessions keep it. */
    userAgent: text().notNull(),
    details: text().notNull().default('{}'),
  },
  // A page of a list is read from the index of its filter, newest first; pruning reads `at`.
  (table) => [
    index('audit_events_subject_idx').on(table.subjectId, table.id),
    index('audit_events_kind_idx').on(table.kind, table.id),
    index('audit_events_subject_kind_idx').on(table.subjectId, table.kind, table.id),
    index('audit_events_at_idx').on(table.at),
  ],
);

/**
 * The apps that sign their users in with this service (the OpenID Connect provider, src/oauth/).
 * A confidential client has a secret, stored as its SHA-256 (it carries 256 random bits); a public
 * one (a single-page or native app) has none and proves itself with PKCE alone.
 */
export const oauthClients = sqliteTable('oauth_clients', {
  clientId: text().primaryKey(),
  name: text().notNull(),
  /** The exact redirect URIs, as a JSON array; a loopback one matches any port (RFC 8252). */
  redirectUris: text({ mode: 'json' }).$type<string[]>().notNull(),
  secretHash: text(),
  createdAt: integer({ mode: 'timestamp_ms' }).notNull().default(now),
});

/** A row's user and client: the row goes with either (an account deleted, a client removed). */
const cascadingUserId = () =>
  integer()
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' });
const cascadingClientId = () =>
  text()
    .notNull()
    .references(() => oauthClients.clientId, { onDelete: 'cascade' });

/** What a user allowed a client: the scopes, remembered so the consent page is not asked again. */
export const oauthConsents = sqliteTable(
  'oauth_consents',
  {
    userId: cascadingUserId(),
    clientId: cascadingClientId(),
    /** Space-separated. */
    scopes: text().notNull(),
    grantedAt: integer({ mode: 'timestamp_ms' }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.clientId] })],
);

/**
 * Authorization codes: SHA-256 of each, single use, 60 s, bound to the client, the redirect URI
 * and the PKCE challenge. `grantId` is the grant its exchange issued: a replayed code revokes it.
 */
export const oauthCodes = sqliteTable(
  'oauth_codes',
  {
    codeHash: text().primaryKey(),
    clientId: cascadingClientId(),
    userId: cascadingUserId(),
    redirectUri: text().notNull(),
    scopes: text().notNull(),
    codeChallenge: text().notNull(),
    nonce: text(),
    /** The login the code carries into the ID token: `auth_time` and `amr` (space-separated). */
    authTime: integer({ mode: 'timestamp_ms' }).notNull(),
    amr: text().notNull(),
    expiresAt: integer({ mode: 'timestamp_ms' }).notNull(),
    grantId: text(),
  },
  (table) => [index('oauth_codes_expires_at_idx').on(table.expiresAt)],
);

/**
 * What an exchanged code gave a client for a user: its access tokens name the grant (`gid`) and
 * work while it lives; with `offline_access`, its refresh tokens rotate within it. Revoking (a
 * consent withdrawn, RFC 7009, a reused refresh token, a replayed code) deletes the grant.
 */
export const oauthGrants = sqliteTable(
  'oauth_grants',
  {
    id: text().primaryKey(),
    clientId: cascadingClientId(),
    userId: cascadingUserId(),
    scopes: text().notNull(),
    authTime: integer({ mode: 'timestamp_ms' }).notNull(),
    amr: text().notNull(),
    createdAt: integer({ mode: 'timestamp_ms' }).notNull(),
    /** The refresh tokens' absolute end (JWT_REFRESH_EXPIRATION_DELTA after the login). */
    expiresAt: integer({ mode: 'timestamp_ms' }).notNull(),
    /**
     * The user's token version at the grant: a logout everywhere, a password change or reset and a
     * deactivation raise it, which ends the grant as it ends sessions. (Added by migration 0013: no
     * grant existed before it, so the default never applies.)
     */
    tokenVersion: integer().notNull().default(0),
  },
  (table) => [
    index('oauth_grants_user_client_idx').on(table.userId, table.clientId),
    index('oauth_grants_expires_at_idx').on(table.expiresAt),
  ],
);

/** A grant's refresh tokens (SHA-256 of each): the current one, and those it replaced, to see reuse. */
export const oauthRefreshTokens = sqliteTable(
  'oauth_refresh_tokens',
  {
    tokenHash: text().primaryKey(),
    grantId: text()
      .notNull()
      .references(() => oauthGrants.id, { onDelete: 'cascade' }),
    replacedAt: integer({ mode: 'timestamp_ms' }),
  },
  (table) => [index('oauth_refresh_tokens_grant_idx').on(table.grantId)],
);

/**
 * The accounts of external providers linked to a user (sign in with another provider): one per
 * (provider, subject), never matched by email. The email is what the provider said, and whether it
 * said it verified it; it never fills or changes the user's own address on its own.
 */
export const identities = sqliteTable(
  'identities',
  {
    // Not AUTOINCREMENT: that would add a row to sqlite_sequence, which every insert of an
    // AUTOINCREMENT table (a session's) scans.
    id: integer().primaryKey(),
    userId: cascadingUserId(),
    /** The provider's id in AUTH_PROVIDERS. */
    provider: text().notNull(),
    /** The provider's user id: `sub` of its ID token, or GitHub's numeric id. */
    subject: text().notNull(),
    email: text(),
    emailVerified: integer({ mode: 'boolean' }).notNull().default(false),
    createdAt: integer({ mode: 'timestamp_ms' }).notNull().default(now),
    lastUsedAt: integer({ mode: 'timestamp_ms' }),
  },
  (table) => [
    uniqueIndex('identities_provider_subject_idx').on(table.provider, table.subject),
    index('identities_user_idx').on(table.userId),
  ],
);

/**
 * The statements of the audit log: an event written in the batch of the change it records, the
 * lists read newest first from the index of their filter, and pruning past the retention.
 */
import { and, eq, inArray, lt, sql, type SQL } from 'drizzle-orm';
import type { Database } from './client';
import { auditEvents } from './schema';

/** Every kind of event, as SPEC.md ("Account security") lists them. */
export const AUDIT_KINDS = [
  'login.succeeded',
  'login.failed',
  'logout',
  'password.changed',
  'password.reset',
  'email.change_requested',
  'email.changed',
  'totp.added',
  'totp.removed',
  'recovery_codes.regenerated',
  'passkey.added',
  'passkey.removed',
  'session.ended',
  'session.others_ended',
  'session.reuse_detected',
  'user.registered',
  'user.activated',
  'staff.user_changed',
  'staff.user_deleted',
  'staff.factors_removed',
  'staff.task_created',
  'staff.task_changed',
  'staff.task_deleted',
  'staff.oauth_client_created',
  'staff.oauth_client_deleted',
  'oauth.consent_given',
  'oauth.consent_revoked',
  'identity.linked',
  'identity.unlinked',
] as const;

export type AuditKind = (typeof AUDIT_KINDS)[number];

/** Where the request came from: its id, the client's address and shortened user agent. */
export interface EventOrigin {
  requestId: string;
  ip: string;
  userAgent: string;
}

/**
 * A user an event names, by id (or SQL giving it, such as a session's user); without `username`,
 * the name is read from `users` as the event is written.
 */
export interface Party {
  id: number | SQL;
  username?: string;
}

/** Never a secret: no password, token, code, hash or key. */
export type EventDetails = Record<string, string | number | boolean | null | undefined | readonly string[]>;

export interface AuditEntry {
  kind: AuditKind;
  actor: Party | null;
  subject: Party | null;
  details?: EventDetails;
}

/**
 * When an event is written: `always`; `ifChanged`, placed right after the write it records,
 * only if that one changed a row (SQLite's changes() of the statement before in the same batch:
 * never after a read, whose changes() are an older statement's); or a condition in SQL, for an event that must be written before its change (a deletion: the
 * username is read while the row exists).
 */
export type EventCondition = 'always' | 'ifChanged' | SQL;

const idOf = (party: Party | null) => (party === null ? sql`null` : sql`${party.id}`);

const nameOf = (party: Party | null) =>
  party === null
    ? sql`null`
    : party.username !== undefined
      ? sql`${party.username}`
      : sql`(select named.username from users as named where named.id = ${party.id})`;

/** The insert of one event, for the batch of the change it records. */
export function insertEvent(
  db: Database,
  origin: EventOrigin,
  { kind, actor, subject, details = {} }: AuditEntry,
  condition: EventCondition = 'always',
  at = new Date(),
) {
  const when = condition === 'always' ? sql`1` : condition === 'ifChanged' ? sql`changes() > 0` : condition;
  // In the columns' order (id first, null: the next rowid).
  return db.insert(auditEvents).select(
    sql`select null, ${at.getTime()}, ${kind}, ${idOf(actor)}, ${nameOf(actor)}, ${idOf(subject)}, ${nameOf(subject)},
        ${origin.requestId}, ${origin.ip}, ${origin.userAgent}, ${JSON.stringify(details)} where ${when}`,
  );
}

export interface EventFilter {
  subjectId?: number;
  kind?: AuditKind;
}

/** The condition of a list's filters. */
export const eventsWhere = ({ subjectId, kind }: EventFilter): SQL | undefined =>
  and(
    subjectId === undefined ? undefined : eq(auditEvents.subjectId, subjectId),
    kind === undefined ? undefined : eq(auditEvents.kind, kind),
  );

/** The events `where` selects; a cursor page orders them by id, read from the filter's index. */
export const selectEvents = (db: Database, where: SQL | undefined) =>
  db.select().from(auditEvents).where(where).$dynamic();

export type AuditEvent = typeof auditEvents.$inferSelect;

/**
 * Deletes up to `batch` events older than `before`, oldest first through the index on `at`;
 * answers how many, so a caller goes on while a batch comes back full.
 */
export async function pruneEvents(db: Database, before: Date, batch: number): Promise<number> {
  const deleted = await db
    .delete(auditEvents)
    .where(
      inArray(
        auditEvents.id,
        db
          .select({ id: auditEvents.id })
          .from(auditEvents)
          .where(lt(auditEvents.at, before))
          .orderBy(auditEvents.at)
          .limit(batch),
      ),
    )
    .returning({ id: auditEvents.id });
  return deleted.length;
}

/**
 * The statements of browser sessions (src/routes/sessions.ts). Each request sends its statements
 * as one D1 batch: one round trip, run as one transaction, so two refreshes of one cookie never
 * both rotate it.
 */
import { and, desc, eq, gt, inArray, isNull, lte, ne, or, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/sqlite-core';
import { insertEvent, type EventOrigin } from './audit';
import type { Database } from './client';
import { auditEvents, sessions, users } from './schema';

/**
 * Expired rows deleted by each login and refresh, oldest first through the index. A refresh adds
 * one row and a login one, so deleting up to 20 keeps the table to the rows of unexpired
 * sessions (each keeps one row per cookie it issued, for reuse detection) with bounded work per
 * request and no cron job.
 */
const PRUNE_BATCH = 20;

const pruneExpired = (db: Database, now: Date) =>
  db
    .delete(sessions)
    .where(
      inArray(
        sessions.id,
        db
          .select({ id: sessions.id })
          .from(sessions)
          .where(lte(sessions.expiresAt, now))
          .orderBy(sessions.expiresAt)
          .limit(PRUNE_BATCH),
      ),
    );

export interface NewSession {
  family: string;
  userId: number;
  secretHash: string;
  tokenVersion: number;
  loginAt: Date;
  expiresAt: Date;
  /** The login's methods, space-separated, and when they were last proved. */
  amr: string;
  authTime: Date;
  userAgent: string;
}

/** The family of the cookie whose hash is `secretHash`, as a subquery. */
const familyOf = (secretHash: string): SQL =>
  sql`(select presented.family from sessions as presented where presented.secret_hash = ${secretHash})`;

const deleteFamilyOf = (db: Database, secretHash: string) =>
  db.delete(sessions).where(eq(sessions.family, familyOf(secretHash)));

/**
 * Stores a new session, in one round trip. `replacing`: the hash of the cookie the browser sent
 * with the login, whose session ends (the new cookie takes its place in that browser, so nobody
 * would present the old one again and reveal a stolen copy).
 */
export async function startSession(db: Database, session: NewSession, replacing?: string): Promise<void> {
  // The login issues the first cookie.
  const insert = db.insert(sessions).values({ ...session, issuedAt: session.loginAt });
  const prune = pruneExpired(db, session.loginAt);
  await (replacing === undefined
    ? db.batch([insert, prune])
    : db.batch([deleteFamilyOf(db, replacing), insert, prune]));
}

const presented = alias(sessions, 'presented');
const latest = alias(sessions, 'latest');

/**
 * True in SQL while the session of `latest` may still refresh: before its absolute end, its user
 * active and at the same token version.
 */
const isLive = (now: Date): SQL =>
  sql`(${latest.expiresAt} > ${now.getTime()} and exists(select 1 from users as holder where holder.id = ${latest.userId} and holder.is_active = 1 and holder.token_version = ${latest.tokenVersion}))`;

interface Rotation {
  presentedHash: string;
  /** The hash of the successor's secret, stored if the presented cookie is current (kept only if live). */
  nextHash: string;
  now: Date;
  graceSeconds: number;
}

/**
 * The cookie that answers a refresh, as a condition on `latest`: the successor this refresh just
 * stored, or, within the grace after the presented cookie was rotated, its successor while that
 * one is still current. Live either way.
 */
const answers = ({ presentedHash, nextHash, now, graceSeconds }: Rotation): SQL =>
  and(
    isNull(latest.replacedBy),
    isLive(now),
    or(
      eq(latest.secretHash, nextHash),
      eq(
        latest.id,
        sql`(select presented.replaced_by from sessions as presented where presented.secret_hash = ${presentedHash} and presented.rotated_at > ${now.getTime() - graceSeconds * 1000})`,
      ),
    ),
  )!;

export interface Refreshed {
  family: string;
  userId: number;
  username: string;
  isStaff: boolean;
  tokenVersion: number;
  loginAt: number;
  expiresAt: number;
  amr: string;
  authTime: number;
  /** True when the presented cookie was current and `nextHash` now replaces it; false in the grace. */
  rotated: boolean;
}

/**
 * A refresh, in one round trip: if the presented cookie is current, store its successor and link
 * it; answer the session's user if the session is live (nothing when the refresh fails); and when
 * nothing answers (a rotated cookie past the grace, an expired or revoked session), delete the
 * whole family, the successor just stored included, so a stolen copy and its owner's cookie both
 * stop working. A rotated cookie presented again is also recorded (`session.reuse_detected`), and
 * `reuseOf` is then the user whose session it was.
 */
export async function rotateSession(
  db: Database,
  rotation: Rotation,
  origin: EventOrigin,
): Promise<{ session: Refreshed | undefined; reuseOf: number | undefined }> {
  const { presentedHash, nextHash, now } = rotation;
  const storeSuccessor = db.insert(sessions).select(
    db
      .select({
        id: sql<number>`null`.as('id'),
        family: presented.family,
        userId: presented.userId,
        secretHash: sql<string>`${nextHash}`.as('secret_hash'),
        tokenVersion: presented.tokenVersion,
        loginAt: presented.loginAt,
        expiresAt: presented.expiresAt,
        replacedBy: sql<number | null>`null`.as('replaced_by'),
        rotatedAt: sql<number | null>`null`.as('rotated_at'),
        amr: presented.amr,
        authTime: presented.authTime,
        issuedAt: sql<number>`${now.getTime()}`.as('issued_at'),
        userAgent: presented.userAgent,
      })
      .from(presented)
      .where(and(eq(presented.secretHash, presentedHash), isNull(presented.replacedBy))),
  );
  const successorId = sql`(select successor.id from sessions as successor where successor.secret_hash = ${nextHash})`;
  const linkToSuccessor = db
    .update(sessions)
    .set({ replacedBy: successorId, rotatedAt: now })
    .where(and(eq(sessions.secretHash, presentedHash), isNull(sessions.replacedBy)));
  const answer = db
    .select({
      family: latest.family,
      userId: latest.userId,
      username: users.username,
      isStaff: users.isStaff,
      tokenVersion: users.tokenVersion,
      loginAt: sql<number>`${latest.loginAt}`.as('login_at_ms'),
      expiresAt: sql<number>`${latest.expiresAt}`.as('expires_at_ms'),
      amr: latest.amr,
      authTime: sql<number>`coalesce(${latest.authTime}, ${latest.loginAt})`.as('auth_time_ms'),
      rotated: sql<number>`${latest.secretHash} = ${nextHash}`.as('rotated'),
    })
    .from(latest)
    .innerJoin(users, eq(users.id, latest.userId))
    .where(answers(rotation));
  const endFamilyUnanswered = db
    .delete(sessions)
    .where(
      and(
        eq(sessions.family, familyOf(presentedHash)),
        sql`not exists(select 1 from sessions as latest where ${answers(rotation)})`,
      ),
    );
  // Reuse: a cookie rotated before this request, presented again, and nothing answers.
  const reused = sql`exists(select 1 from sessions as presented where presented.secret_hash = ${presentedHash} and presented.rotated_at < ${now.getTime()}) and not exists(select 1 from sessions as latest where ${answers(rotation)})`;
  const owner = { id: ownerOf(presentedHash) };
  const reuseEvent = insertEvent(
    db,
    origin,
    { kind: 'session.reuse_detected', actor: null, subject: owner },
    reused,
    now,
  ).returning({ userId: auditEvents.subjectId });
  const [, , [row], reuse] = await db.batch([
    storeSuccessor,
    linkToSuccessor,
    answer,
    reuseEvent,
    endFamilyUnanswered,
    pruneExpired(db, now),
  ]);
  return { session: row && { ...row, rotated: row.rotated === 1 }, reuseOf: reuse[0]?.userId ?? undefined };
}

/** The user of the cookie whose hash is `secretHash`, in SQL (null for no such cookie). */
export const ownerOf = (secretHash: string): SQL =>
  sql`(select presented.user_id from sessions as presented where presented.secret_hash = ${secretHash})`;

/** Ends the session of the cookie whose hash is `secretHash` (every cookie of its family). */
export const endSession = deleteFamilyOf;

/** A re-authentication in a browser session: every cookie of it carries the new time from now on. */
export const renewSessionAuthTime = (db: Database, family: string, userId: number, at: Date) =>
  db
    .update(sessions)
    .set({ authTime: at })
    .where(and(eq(sessions.family, family), eq(sessions.userId, userId)));

/** How many sessions a list shows: the newest logins, should a user have more. */
const MAX_LISTED_SESSIONS = 100;

/**
 * The user's live sessions, newest login first: the current cookie of each (the partial index
 * sessions_user_current_idx), before its end and at the user's token version (`tokenVersion`).
 */
export const listSessions = (
  db: Database,
  { id: userId, tokenVersion }: { id: number; tokenVersion: number },
  now: Date,
) =>
  db
    .select({
      family: sessions.family,
      loginAt: sessions.loginAt,
      issuedAt: sessions.issuedAt,
      userAgent: sessions.userAgent,
    })
    .from(sessions)
    .where(
      and(
        eq(sessions.userId, userId),
        isNull(sessions.replacedBy),
        gt(sessions.expiresAt, now),
        eq(sessions.tokenVersion, tokenVersion),
      ),
    )
    .orderBy(desc(sessions.loginAt))
    .limit(MAX_LISTED_SESSIONS);

/** Ends the user's session `family` (another user's is not); returns its rows. */
export const endUserSession = (db: Database, userId: number, family: string) =>
  db
    .delete(sessions)
    .where(and(eq(sessions.userId, userId), eq(sessions.family, family)))
    .returning({ id: sessions.id });

/** Ends every session of the user but `keep` (the caller's own, when it has one). */
export const endOtherSessions = (db: Database, userId: number, keep: string | undefined) =>
  db
    .delete(sessions)
    .where(and(eq(sessions.userId, userId), keep === undefined ? undefined : ne(sessions.family, keep)));

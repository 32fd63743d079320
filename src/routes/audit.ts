/**
 * Reading the audit log: staff read every event (`GET /audit/`), a user the events of their own
 * account (`GET /users/me/events/`). Cursor pages, newest first, filtered by `?kind=` (and
 * `?subject=` for staff); each page reads its rows from the index of its filter.
 */
import { and, desc } from 'drizzle-orm';
import type { Context } from 'hono';
import * as z from 'zod';
import { AUDIT_KINDS, eventsWhere, selectEvents, type AuditEvent, type EventFilter } from '../db/audit';
import { auditEvents } from '../db/schema';
import { cursorPage, cursorRows, decodeCursor } from '../drf/cursor-pagination';
import { queryUserIdField } from '../drf/fields';
import type { Ordering } from '../drf/ordering';
import { paginationQuery } from '../drf/pagination';
import type { AppEnv } from '../env';
import { defineRoute } from '../http/route';
import { activeAccount, requireStaffNow } from './account';

const NEWEST_FIRST: Ordering = {
  text: '',
  keys: [{ name: 'id', column: auditEvents.id, descending: true }],
  terms: [desc(auditEvents.id)],
};

const cursorField = z.string().optional().meta({ description: 'The cursor of a `next` or `previous` link.' });
const kindField = z
  .enum(AUDIT_KINDS, {
    error: (issue) => `Select a valid choice. ${String(issue.input)} is not one of the available choices.`,
  })
  .optional();

const myEventsQuery = z.object({ limit: paginationQuery.limit, cursor: cursorField, kind: kindField });
const auditQuery = myEventsQuery.extend({
  subject: queryUserIdField().meta({ description: 'The id of the account the events concern (also a deleted one).' }),
});

const party = (id: number | null, username: string | null) => (id === null ? null : { id, username: username ?? '' });

const serializeEvent = (event: AuditEvent) => ({
  id: event.id,
  at: event.at.toISOString(),
  kind: event.kind,
  actor: party(event.actorId, event.actorName),
  subject: party(event.subjectId, event.subjectName),
  request_id: event.requestId,
  ip: event.ip,
  user_agent: event.userAgent,
  details: JSON.parse(event.details) as unknown,
});

async function eventPage(
  c: Context<AppEnv>,
  path: string,
  filter: EventFilter,
  { limit, cursor }: { limit: number; cursor: string | undefined },
) {
  const db = c.get('db');
  const position = await decodeCursor(c.get('settings'), NEWEST_FIRST, cursor ?? '');
  const rows = await cursorRows(
    (after) => selectEvents(db, and(eventsWhere(filter), after)),
    NEWEST_FIRST,
    position,
    limit,
  );
  return cursorPage(c, { path, ordering: NEWEST_FIRST, limit, position }, rows, (event) => [event.id], serializeEvent);
}

export const auditRoutes = [
  defineRoute({
    method: 'get',
    path: '/audit/',
    tag: 'audit',
    summary: 'The audit log, newest first (staff)',
    description: `Cursor pages: follow \`next\` and \`previous\`. Filters: \`?subject=\` (a user id) and \`?kind=\` (${AUDIT_KINDS.join(', ')}). Events are kept AUDIT_RETENTION_DAYS.`,
    auth: 'required',
    query: auditQuery,
    responses: { 200: 'AuditEventPage', 403: 'Detail', 404: 'Detail' },
    handler: async (c, { user, query: { subject, kind, limit, cursor } }) => {
      await requireStaffNow(c, user);
      return eventPage(c, '/audit/', { subjectId: subject, kind }, { limit, cursor });
    },
  }),
  defineRoute({
    method: 'get',
    path: '/users/me/events/',
    tag: 'audit',
    summary: "The events of the caller's account, newest first",
    description:
      'Logins and failed attempts, password, email and factor changes, sessions ended, and what staff did to the account. Cursor pages; `?kind=` filters.',
    auth: 'required',
    query: myEventsQuery,
    responses: { 200: 'AuditEventPage', 404: 'Detail' },
    handler: async (c, { user, query: { kind, limit, cursor } }) => {
      await activeAccount(c, user);
      return eventPage(c, '/users/me/events/', { subjectId: user.id, kind }, { limit, cursor });
    },
  }),
];

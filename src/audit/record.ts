/**
 * Audit events of a request: a change's event is a statement for the change's own batch (so
 * neither is written without the other); an event that records no change (a failed login) is
 * written after the response, never delaying or failing it.
 */
import type { Context } from 'hono';
import { insertEvent, type AuditEntry, type EventCondition, type EventOrigin } from '../db/audit';
import type { AppEnv } from '../env';
import { afterResponse } from '../http/after-response';
import { shortUserAgent } from '../http/user-agent';

/**
 * The request's id, the client's address as Cloudflare gives it (kept whole: see docs/audit-log.md,
 * Privacy) and its user agent shortened as sessions keep it.
 */
export const eventOrigin = (c: Context<AppEnv>): EventOrigin => ({
  requestId: c.get('requestId'),
  ip: c.req.header('CF-Connecting-IP') ?? '',
  userAgent: shortUserAgent(c.req.header('User-Agent')),
});

/** The statement writing `entry` (see EventCondition), for the batch of the change it records. */
export const auditStatement = (c: Context<AppEnv>, entry: AuditEntry, condition?: EventCondition) =>
  insertEvent(c.get('db'), eventOrigin(c), entry, condition);

/** Writes `entry` once the response is on its way: for events that record no change. */
export const auditAfterResponse = (c: Context<AppEnv>, entry: AuditEntry) =>
  afterResponse(c, 'Recording an audit event', () => auditStatement(c, entry));

/** Audit events as people read them, for the Security page's recent activity and the staff Audit page. */
import type { components } from './api/schema';

export type AuditEvent = components['schemas']['AuditEvent'];
export type AuditKind = AuditEvent['kind'];

const METHODS: Record<string, string> = { pwd: 'password', otp: 'code', hwk: 'passkey' };

const text = (value: unknown) => (typeof value === 'string' ? value : '');
const list = (value: unknown) => (Array.isArray(value) ? value.map(text).join(', ') : '');

const WHAT: Record<AuditKind, (details: Record<string, unknown>) => string> = {
  'login.succeeded': (details) => {
    const methods = Array.isArray(details.methods)
      ? details.methods.map((m) => METHODS[m as string]).filter(Boolean)
      : [];
    return methods.length > 0 ? `Logged in with ${methods.join(' and ')}` : 'Logged in';
  },
  'login.failed': (details) =>
    details.step === 'second_factor' ? 'Failed login: wrong second factor' : 'Failed login',
  logout: (details) => (details.everywhere ? 'Logged out everywhere' : 'Logged out'),
  'password.changed': () => 'Password changed',
  'password.reset': () => 'Password reset by email link',
  'email.change_requested': (details) => `Email change to ${text(details.email)} requested`,
  'email.changed': (details) => `Email changed to ${text(details.email)}`,
  'totp.added': () => 'Authenticator app added',
  'totp.removed': () => 'Authenticator app removed',
  'recovery_codes.regenerated': () => 'New recovery codes',
  'passkey.added': (details) => `Passkey "${text(details.name)}" added`,
  'passkey.removed': () => 'Passkey removed',
  'session.ended': () => 'A session ended',
  'session.others_ended': () => 'All other sessions ended',
  'session.reuse_detected': () => 'A copied session cookie was used: that session was ended',
  'user.registered': () => 'Account registered',
  'user.activated': () => 'Account activated',
  'staff.user_changed': (details) => {
    const changes = [
      details.is_active === true ? 'activated' : details.is_active === false ? 'deactivated' : '',
      details.is_staff === true ? 'made staff' : details.is_staff === false ? 'removed from staff' : '',
    ].filter(Boolean);
    return changes.length > 0 ? `Account ${changes.join(', ')}` : 'Account changed by staff';
  },
  'staff.user_deleted': () => 'Account deleted',
  'staff.factors_removed': () => 'Second factors removed by staff',
  'staff.task_created': (details) => `Task "${text(details.title)}" created by staff`,
  'staff.task_changed': (details) => `Task ${String(details.task)} changed by staff`,
  'staff.task_deleted': (details) => `Task ${String(details.task)} deleted by staff`,
  'staff.oauth_client_created': (details) => `App "${text(details.name)}" registered by staff`,
  'staff.oauth_client_deleted': (details) => `App ${text(details.client_id)} removed by staff`,
  'oauth.consent_given': (details) => `App "${text(details.name)}" allowed: ${list(details.scopes)}`,
  'oauth.consent_revoked': (details) => `Access of "${text(details.name)}" revoked`,
  'identity.linked': (details) => `Sign-in with ${text(details.provider)} linked`,
  'identity.unlinked': () => 'A linked sign-in removed',
};

export const AUDIT_KINDS = Object.keys(WHAT) as AuditKind[];

/** What happened, in a few words. */
export const describeEvent = (event: AuditEvent): string => WHAT[event.kind](event.details);

/** Who did it, when that is someone other than the account's owner. */
export const actedBy = (event: AuditEvent): string | null =>
  event.actor && event.actor.id !== event.subject?.id ? event.actor.username : null;

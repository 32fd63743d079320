/** The mails the service sends, as text and HTML: links (with how long they work) and security notices. */
import type { Mail } from './mailer';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** `2 hours`, `1 hour`, `30 minutes`, `45 seconds`. */
function humanDuration(seconds: number): string {
  const [amount, unit] =
    seconds % 86400 === 0 && seconds >= 86400
      ? [seconds / 86400, 'day']
      : seconds % 3600 === 0 && seconds >= 3600
        ? [seconds / 3600, 'hour']
        : seconds % 60 === 0 && seconds >= 60
          ? [seconds / 60, 'minute']
          : [seconds, 'second'];
  return `${amount} ${unit}${amount === 1 ? '' : 's'}`;
}

function linkMail(to: string, subject: string, lines: { before: string; after: string }, link: string): Mail {
  return {
    to,
    subject,
    link,
    text: `${lines.before}\n\n${link}\n\n${lines.after}\n`,
    html:
      `<p>${escapeHtml(lines.before)}</p>` +
      `<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>` +
      `<p>${escapeHtml(lines.after)}</p>`,
  };
}

export const activationMail = (to: string, username: string, link: string, lifetime: number) =>
  linkMail(
    to,
    'Activate your account',
    {
      before: `Hello ${username}, open this link to activate your account:`,
      after: `The link works once and expires in ${humanDuration(lifetime)}. If you did not register, ignore this mail.`,
    },
    link,
  );

export const passwordResetMail = (to: string, username: string, link: string, lifetime: number) =>
  linkMail(
    to,
    'Reset your password',
    {
      before: `Hello ${username}, open this link to choose a new password:`,
      after: `The link works once and expires in ${humanDuration(lifetime)}. If you did not ask for it, ignore this mail: your password stays as it is.`,
    },
    link,
  );

export const emailChangeMail = (to: string, username: string, link: string, lifetime: number) =>
  linkMail(
    to,
    'Confirm your new email address',
    {
      before: `Hello ${username}, open this link to make this your account's email address:`,
      after: `The link works once and expires in ${humanDuration(lifetime)}. Until then your address stays as it was. If you did not ask for this, ignore this mail.`,
    },
    link,
  );

export const emailVerifyMail = (to: string, username: string, link: string, lifetime: number) =>
  linkMail(
    to,
    'Verify your email address',
    {
      before: `Hello ${username}, open this link to confirm this is your account's email address:`,
      after: `The link works once and expires in ${humanDuration(lifetime)}. Password reset links go only to a verified address. If you did not ask for this, ignore this mail.`,
    },
    link,
  );

/** What each security notice says happened (SPEC.md: "Security notices by mail"). */
const NOTICES: Record<
  'password.changed' | 'email.change_requested' | 'factor.added' | 'factor.removed' | 'session.reuse_detected',
  (detail: string) => [subject: string, happened: string]
> = {
  'password.changed': () => ['Your password was changed', 'The password of your account was changed.'],
  'email.change_requested': (email: string) => [
    'A change of your email address was requested',
    `Someone logged in to your account asked to change its email address to ${email}. The address changes only once the link sent there is opened.`,
  ],
  'factor.added': (what: string) => ['A sign-in method was added', `${what} was added to your account.`],
  'factor.removed': (what: string) => ['A sign-in method was removed', `${what} was removed from your account.`],
  'session.reuse_detected': () => [
    'Your session was ended: a sign-in cookie was used twice',
    'An old copy of a sign-in cookie of your account was presented again, which happens when it was copied from your browser. That session has been ended everywhere.',
  ],
};

export type NoticeKind = keyof typeof NOTICES;

/** A security notice: no link (a mail with a link could be a phish of this one), what to do if it was not you. */
export function securityNotice(kind: NoticeKind, to: string, username: string, detail = ''): Mail {
  const [subject, happened] = NOTICES[kind](detail);
  const after =
    "If this was you, there is nothing to do. If it was not, reset your password and review your account's security page.";
  const lines = [`Hello ${username},`, happened, after];
  return {
    to,
    subject,
    text: `${lines.join('\n\n')}\n`,
    html: lines.map((line) => `<p>${escapeHtml(line)}</p>`).join(''),
  };
}

/** The mails the service sends, as text and HTML, each with its one link and how long it works. */
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

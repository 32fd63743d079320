/**
 * Sends mail through the backend EMAIL_BACKEND names, after the response: the request never
 * waits on a mail provider, and a failure is logged with the request id, never lost silently
 * and never a lost account (the user can ask again).
 */
import type { Context } from 'hono';
import type { Settings } from '../config';
import type { AppEnv } from '../env';
import { afterResponse } from '../http/after-response';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** The one link the mail carries, if any: the console backend logs it, and nothing else. */
  link?: string;
}

/** A mail provider that refused a message. */
class MailError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MailError';
  }
}

type Send = (mail: Mail, settings: Settings, env: Env) => Promise<void>;

const backends: Record<Settings['mail']['backend'], Send> = {
  binding: async ({ to, subject, text, html }, { mail }, env) => {
    await env.EMAIL.send({ from: mail.from, to, subject, text, html });
  },
  // One request to an HTTP mail API; no provider SDK (30+ KiB of bundle for one fetch).
  http: async ({ to, subject, text, html }, { mail }) => {
    const response = await fetch(mail.httpUrl!, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${mail.apiKey}` },
      body: JSON.stringify({ from: mail.from, to, subject, text, html }),
    });
    if (!response.ok) throw new MailError(`the mail API answered ${response.status}`);
  },
  console: async ({ subject, link }) => {
    console.log(JSON.stringify({ message: 'Mail (EMAIL_BACKEND=console)', subject, link }));
  },
};

/** Sends `mail` now, through EMAIL_BACKEND. */
const sendNow = (c: Context<AppEnv>, mail: Mail) =>
  backends[c.get('settings').mail.backend](mail, c.get('settings'), c.env);

/** Sends the mail `compose` gives (none: nothing to send) once the response is on its way (see afterResponse). */
export function sendAfterResponse(
  c: Context<AppEnv>,
  compose: Mail | (() => Promise<Mail | undefined>),
): Promise<void> {
  return afterResponse(
    c,
    'Sending mail',
    async () => {
      const mail = typeof compose === 'function' ? await compose() : compose;
      if (mail) await sendNow(c, mail);
    },
    // The provider's status only: never the address, the link or the body.
    (error) => (error instanceof MailError ? error.message : error instanceof Error ? error.name : typeof error),
  );
}

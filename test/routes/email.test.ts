/**
 * Activation by email, resend and re-registration, through the real app with the real
 * `send_email` binding (a pass-through spy records each message) and a real local D1.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { desc, eq } from 'drizzle-orm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { getDb } from '../../src/db/client';
import { users } from '../../src/db/schema';
import { createApp } from '../../src/app';
import {
  callWithEnv,
  createUser,
  createUserWithToken,
  decodeJwt,
  recordMail,
  SITE_URL,
  uniqueName,
  type SentMail,
} from '../helpers';

const EMAIL_MODE = { ACTIVATION_DELIVERY: 'email' };
const RESEND_ANSWER = {
  detail: 'If an account with that email or username is waiting for activation, a new link is on its way.',
};

afterEach(() => {
  vi.restoreAllMocks();
});

const post = (overrides: Record<string, unknown>, path: string, body: unknown) =>
  callWithEnv(overrides, path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

const linkIn = (mail: SentMail) => /https?:\/\/\S+\/app\/activate\/([\w.-]+)/.exec(mail.text)!;

async function registerByEmail(username = uniqueName('mailed')) {
  const email = `${username}@example.com`;
  const response = await post(EMAIL_MODE, '/api-register/', { username, email, password: 'a long enough password' });
  return { username, email, response };
}

const row = async (username: string) => getDb(env.DB).query.users.findFirst({ where: eq(users.username, username) });

describe('ACTIVATION_DELIVERY=email', () => {
  it('answers 201 without the link and mails the app confirm page, which activates the account', async () => {
    const sent = recordMail();
    const { username, email, response } = await registerByEmail();
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ detail: 'Check your email for a link to activate your account.' });
    expect(sent).toHaveLength(1);
    const [mail] = sent;
    expect(mail).toMatchObject({ from: 'noreply@example.com', to: email, subject: 'Activate your account' });
    const [link, token] = linkIn(mail!);
    expect(link.startsWith(`${SITE_URL}/app/activate/`)).toBe(true);
    expect(mail!.text).toContain('expires in 2 hours');
    expect(mail!.html).toContain(`<a href="${link}">`);
    expect(mail!.text).not.toContain('a long enough password');

    const activated = await post(EMAIL_MODE, '/api-activate/', { token });
    expect(activated.status).toBe(200);
    expect(await activated.json()).toEqual(['User Activated']);
    const login = await post(EMAIL_MODE, '/api-auth/', { username, password: 'a long enough password' });
    expect(login.status).toBe(200);
  });

  it('keeps the account when the mail fails, logs it with the request id, and resend works', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const sent = recordMail({ failures: 1 });
    const { username, email, response } = await registerByEmail();
    expect(response.status).toBe(201);
    expect(await row(username)).toMatchObject({ isActive: false });
    const logged = JSON.parse(errors.mock.calls[0]![0] as string) as Record<string, string>;
    expect(logged).toMatchObject({ requestId: response.headers.get('X-Request-Id'), message: 'Sending mail failed' });
    expect(JSON.stringify(logged)).not.toContain(email);

    const resent = await post(EMAIL_MODE, '/api-activate/resend/', { email });
    expect(await resent.json()).toEqual(RESEND_ANSWER);
    expect(sent.map((mail) => mail.to)).toEqual([email, email]);
  });
});

describe('EMAIL_BACKEND', () => {
  it('http: one POST of {from, to, subject, text, html} with the API key; a non-2xx is logged', async () => {
    const calls: Request[] = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      calls.push(new Request(input as RequestInfo, init));
      return new Response('nope', { status: calls.length === 1 ? 202 : 503 });
    });
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const http = {
      ...EMAIL_MODE,
      EMAIL_BACKEND: 'http',
      MAIL_HTTP_URL: 'https://mail.example/send',
      MAIL_API_KEY: 'k-123',
    };
    const username = uniqueName('http');
    const first = await post(http, '/api-register/', {
      username,
      email: `${username}@example.com`,
      password: 'a long enough password',
    });
    expect(first.status).toBe(201);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.url).toBe('https://mail.example/send');
    expect(calls[0]!.headers.get('Authorization')).toBe('Bearer k-123');
    const body = (await calls[0]!.json()) as Record<string, string>;
    expect(Object.keys(body).sort()).toEqual(['from', 'html', 'subject', 'text', 'to']);
    expect(body.to).toBe(`${username}@example.com`);
    expect(errors).not.toHaveBeenCalled();

    const second = await post(http, '/api-activate/resend/', { username });
    expect(second.status).toBe(200);
    expect(JSON.parse(errors.mock.calls[0]![0] as string)).toMatchObject({
      message: 'Sending mail failed',
      reason: 'the mail API answered 503',
    });
  });

  it('http without MAIL_HTTP_URL or MAIL_API_KEY is a bad setting', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const noUrl = await callWithEnv({ EMAIL_BACKEND: 'http' }, '/');
    expect(((await noUrl.json()) as { detail: string }).detail).toMatch(/^Server misconfigured: MAIL_HTTP_URL /);
    const noKey = await callWithEnv({ EMAIL_BACKEND: 'http', MAIL_HTTP_URL: 'https://mail.example/send' }, '/');
    expect(((await noKey.json()) as { detail: string }).detail).toMatch(/^Server misconfigured: MAIL_API_KEY /);
  });

  it('console: logs the subject and the link, nothing else', async () => {
    const logs = vi.spyOn(console, 'log').mockImplementation(() => {});
    const { response } = await (async () => {
      const username = uniqueName('console');
      return {
        response: await post({ ...EMAIL_MODE, EMAIL_BACKEND: 'console' }, '/api-register/', {
          username,
          email: `${username}@example.com`,
          password: 'a long enough password',
        }),
      };
    })();
    expect(response.status).toBe(201);
    const logged = JSON.parse(logs.mock.calls[0]![0] as string) as Record<string, string>;
    expect(Object.keys(logged).sort()).toEqual(['link', 'message', 'subject']);
    expect(logged.link).toMatch(new RegExp(`^${SITE_URL}/app/activate/`));
  });
});

describe('POST /api-activate/resend/', () => {
  it('answers the same for an unknown, an active, a never-activated and a deactivated account, and mails only the never-activated', async () => {
    const active = await createUser();
    const deactivated = await createUser({ isActive: false }); // as staff deactivation leaves it: no link
    const { username: waiting, email: waitingEmail } = await registerByEmail();
    const sent = recordMail();
    const answers = [];
    for (const body of [
      { email: 'nobody@example.com' },
      { username: uniqueName('nobody') },
      { email: `${active.username}@example.com` },
      { username: deactivated.username },
      { username: waiting },
    ]) {
      const response = await post(EMAIL_MODE, '/api-activate/resend/', body);
      answers.push({ status: response.status, body: await response.json() });
    }
    for (const answer of answers) expect(answer).toEqual({ status: 200, body: RESEND_ANSWER });
    expect(sent.map((mail) => mail.to)).toEqual([waitingEmail]);
  });

  it('makes the older link stop working', async () => {
    const sent = recordMail();
    const { email } = await registerByEmail();
    await post(EMAIL_MODE, '/api-activate/resend/', { email });
    const [, oldToken] = linkIn(sent[0]!);
    const [, newToken] = linkIn(sent[1]!);
    expect((await post(EMAIL_MODE, '/api-activate/', { token: oldToken })).status).toBe(400);
    expect((await post(EMAIL_MODE, '/api-activate/', { token: newToken })).status).toBe(200);
  });

  it('answers 400 without an email or a username', async () => {
    const response = await post(EMAIL_MODE, '/api-activate/resend/', {});
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ non_field_errors: ['Give the email or the username of the account.'] });
  });

  it('is rate limited per target, whatever the client IP', async () => {
    recordMail();
    const target = { username: uniqueName('target') };
    const statuses = [];
    for (let i = 0; i < 11; i++) statuses.push((await post(EMAIL_MODE, '/api-activate/resend/', target)).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(200));
    expect(statuses[10]).toBe(429);
  });
});

describe('registering again', () => {
  const expire = (username: string) =>
    getDb(env.DB)
      .update(users)
      .set({ activationExpiresAt: new Date(Date.now() - 1000) })
      .where(eq(users.username, username));

  it('replaces a never-activated account whose link expired; its old link stays dead', async () => {
    const sent = recordMail();
    const { username, response } = await registerByEmail();
    expect(response.status).toBe(201);
    const before = await row(username);
    const [, oldToken] = linkIn(sent[0]!);
    await expire(username);
    const again = await post(EMAIL_MODE, '/api-register/', {
      username,
      email: 'someone.else@example.com',
      password: 'another long password',
    });
    expect(again.status).toBe(201);
    const after = await row(username);
    expect(after!.id).not.toBe(before!.id);
    expect(after!.email).toBe('someone.else@example.com');
    expect((await post(EMAIL_MODE, '/api-activate/', { token: oldToken })).status).toBe(400);
  });

  it('never replaces an account whose link still works, an activated one or a deactivated one', async () => {
    const { username: pending } = await registerByEmail();
    const activated = await createUser();
    const deactivated = await createUser({ isActive: false });
    await expire(activated.username);
    await expire(deactivated.username);
    for (const username of [pending, activated.username, deactivated.username]) {
      const response = await post(EMAIL_MODE, '/api-register/', {
        username,
        email: `${username}@example.com`,
        password: 'another long password',
      });
      expect(response.status, username).toBe(400);
      expect(await response.json()).toEqual({ username: ['A user with that username already exists.'] });
    }
  });
});

describe('the mailed activation link', () => {
  it("holds a token that the app's confirm page POSTs to /api-activate/; mailing it activates nothing", async () => {
    const sent = recordMail();
    const { username, response } = await registerByEmail();
    expect(response.status, await response.clone().text()).toBe(201);
    const [, token] = linkIn(sent[0]!);
    expect(await row(username)).toMatchObject({ isActive: false });
    const submitted = await callWithEnv(EMAIL_MODE, '/api-activate/', {
      method: 'POST',
      body: new URLSearchParams({ token: token! }),
    });
    expect(await submitted.json()).toEqual(['User Activated']);
  });
});

describe('mail goes out after the response', () => {
  it('the response does not wait for a slow mail provider', async () => {
    const sent: string[] = [];
    const slowBinding = {
      send: async (message: { to: string }) => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        sent.push(message.to);
      },
    };
    const ctx = createExecutionContext();
    const username = uniqueName('slow');
    const response = await createApp().fetch(
      new Request('http://api.test/api-register/', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'CF-Connecting-IP': '10.9.9.9' },
        body: JSON.stringify({ username, email: `${username}@example.com`, password: 'a long enough password' }),
      }),
      { ...env, ...EMAIL_MODE, EMAIL: slowBinding },
      ctx,
    );
    expect(response.status).toBe(201);
    expect(sent).toEqual([]);
    await waitOnExecutionContext(ctx);
    expect(sent).toEqual([`${username}@example.com`]);
  });
});

describe('staff decisions and activation links', () => {
  const asStaff = async () => (await createUserWithToken({ isStaff: true })).token;
  const patch = async (token: string, id: number, body: unknown) =>
    callWithEnv(EMAIL_MODE, `/users/${id}/`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });

  it('a pending account that staff deactivate: its link, a resend and a new registration change nothing', async () => {
    const sent = recordMail();
    const { username, email } = await registerByEmail();
    const pending = await row(username);
    const [, token] = linkIn(sent[0]!);
    expect((await patch(await asStaff(), pending!.id, { is_active: false })).status).toBe(200);

    expect((await post(EMAIL_MODE, '/api-activate/', { token })).status).toBe(400);
    expect(await post(EMAIL_MODE, '/api-activate/resend/', { email }).then((r) => r.json())).toEqual(RESEND_ANSWER);
    expect(sent).toHaveLength(1);
    await getDb(env.DB)
      .update(users)
      .set({ dateJoined: new Date(0) })
      .where(eq(users.id, pending!.id));
    const again = await post(EMAIL_MODE, '/api-register/', { username, email, password: 'another long password' });
    expect(again.status).toBe(400);
    expect((await row(username))!.id).toBe(pending!.id);
  });

  it('an account that staff activated, then deactivated, is never re-activated by its old link', async () => {
    const sent = recordMail();
    const { username } = await registerByEmail();
    const { id } = (await row(username))!;
    const [, token] = linkIn(sent[0]!);
    const staff = await asStaff();
    expect((await patch(staff, id, { is_active: true })).status).toBe(200);
    expect((await patch(staff, id, { is_active: false })).status).toBe(200);
    expect((await post(EMAIL_MODE, '/api-activate/', { token })).status).toBe(400);
    expect((await row(username))!.isActive).toBe(false);
  });

  it('one resend sends one mail, however many pending registrations share the address', async () => {
    const email = `${uniqueName('shared')}@example.com`;
    for (let i = 0; i < 3; i++) {
      await post(EMAIL_MODE, '/api-register/', {
        username: uniqueName('same'),
        email,
        password: 'a long enough password',
      });
    }
    const sent = recordMail();
    await post(EMAIL_MODE, '/api-activate/resend/', { email: email.toUpperCase() });
    expect(sent.map((mail) => mail.to)).toEqual([email]);
    // The newest registration's link, not any other's.
    const [newest] = await getDb(env.DB)
      .select({ id: users.id })
      .from(users)
      .where(eq(users.email, email))
      .orderBy(desc(users.id))
      .limit(1);
    const [, token] = linkIn(sent[0]!);
    expect(decodeJwt(token!).payload.user_id).toBe(newest!.id);
  });
});

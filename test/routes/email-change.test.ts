/**
 * Verified email changes and security notices, through the real app, the real send_email binding
 * (recorded by a pass-through spy) and D1: with mail delivery on, a new address changes only
 * through the single-use link mailed to it, the old one gets a notice; password resets and
 * notices go only to verified addresses.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { passwordFingerprint } from '../../src/auth/passwords';
import { issueActivationToken, issueEmailChangeToken, issuePasswordResetToken } from '../../src/auth/tokens';
import { getDb } from '../../src/db/client';
import { auditEvents, users } from '../../src/db/schema';
import {
  accessTokenFor,
  callWithEnv,
  createUser,
  createUserWithToken,
  recordMail,
  settings,
  SITE_URL,
  type SentMail,
  type TestUser,
} from '../helpers';

const EMAIL_MODE = { ACTIVATION_DELIVERY: 'email' };
const INVALID_LINK = { token: ['The email change link was invalid, possibly because it has already been used.'] };

afterEach(() => {
  vi.useRealTimers();
});

const request = (
  overrides: Record<string, unknown>,
  method: string,
  path: string,
  { token, body }: { token?: string; body?: unknown } = {},
) =>
  callWithEnv(overrides, path, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

const confirm = (token: string) => request(EMAIL_MODE, 'POST', '/auth/email/confirm/', { body: { token } });
const me = async (token: string) =>
  (await (await request({}, 'GET', '/users/me/', { token })).json()) as Record<string, unknown>;
const row = async (id: number) => (await getDb(env.DB).query.users.findFirst({ where: eq(users.id, id) }))!;
const linkIn = (mail: SentMail) => /(https?:\/\/\S+\/app\/email\/confirm\/)([\w.-]+)/.exec(mail.text)!;

/** The user asks, with mail delivery on, to change their address to `email`. */
async function requestChange(user: TestUser & { token: string }, email: string) {
  const sent = recordMail();
  const response = await request(EMAIL_MODE, 'PATCH', '/users/me/', { token: user.token, body: { email } });
  expect(response.status).toBe(200);
  return { response, sent };
}

describe('an email change with mail delivery on', () => {
  it('mails a link to the new address and a notice to the old one; the address waits for the link', async () => {
    const user = await createUserWithToken();
    const old = `${user.username}@example.com`;
    const { response, sent } = await requestChange(user, 'new-home@example.com');
    expect(await response.json()).toMatchObject({
      email: old,
      email_verified: true,
      pending_email: 'new-home@example.com',
    });
    expect(sent.map((mail) => [mail.to, mail.subject])).toEqual([
      ['new-home@example.com', 'Confirm your new email address'],
      [old, 'A change of your email address was requested'],
    ]);
    const [link] = linkIn(sent[0]!);
    expect(link.startsWith(`${SITE_URL}/app/email/confirm/`)).toBe(true);
    expect(sent[0]!.text).toContain('expires in 2 hours');
    // The notice names the new address and carries no link.
    expect(sent[1]!.text).toContain('new-home@example.com');
    expect(sent[1]!.text).not.toMatch(/https?:\/\//);
    expect((await row(user.id)).email).toBe(old);
    const [event] = await getDb(env.DB).select().from(auditEvents).where(eq(auditEvents.subjectId, user.id));
    expect([event!.kind, JSON.parse(event!.details)]).toEqual([
      'email.change_requested',
      { email: 'new-home@example.com' },
    ]);
  });

  it('the link sets the new address, verified, once; a second use is refused', async () => {
    const user = await createUserWithToken();
    const { sent } = await requestChange(user, 'confirmed@example.com');
    const [, , token] = linkIn(sent[0]!);
    const confirmed = await confirm(token!);
    expect(confirmed.status).toBe(200);
    expect(await confirmed.json()).toEqual({ detail: 'Your email address is confirmed.' });
    const shown = await me(user.token);
    expect(shown).toMatchObject({ email: 'confirmed@example.com', email_verified: true });
    expect(shown).not.toHaveProperty('pending_email');
    const again = await confirm(token!);
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual(INVALID_LINK);
    const kinds = await getDb(env.DB)
      .select({ kind: auditEvents.kind })
      .from(auditEvents)
      .where(eq(auditEvents.subjectId, user.id));
    expect(kinds.map(({ kind }) => kind)).toEqual(['email.change_requested', 'email.changed']);
  });

  it('a newer request replaces the link: only the latest works', async () => {
    const user = await createUserWithToken();
    const first = await requestChange(user, 'first@example.com');
    const second = await requestChange(user, 'second@example.com');
    expect((await confirm(linkIn(first.sent[0]!)[2]!)).status).toBe(400);
    expect((await confirm(linkIn(second.sent[0]!)[2]!)).status).toBe(200);
    expect((await row(user.id)).email).toBe('second@example.com');
  });

  it('refuses an expired link, a link of another kind, a forged one, and a link for a deactivated account', async () => {
    const user = await createUserWithToken();
    const { sent } = await requestChange(user, 'later@example.com');
    const [, , token] = linkIn(sent[0]!);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + (settings().activationExpirationDelta + 1) * 1000);
    expect(await (await confirm(token!)).json()).toEqual(INVALID_LINK);
    vi.useRealTimers();

    const { activationJti, emailChangeJti, password } = await row(user.id);
    const others = [
      await issueActivationToken(user.id, emailChangeJti!, settings()),
      await issuePasswordResetToken(user.id, await passwordFingerprint(password), settings()),
      await accessTokenFor(user),
      // The right jti with another address: a link is signed, its address cannot be swapped.
      `${token!.split('.').slice(0, 2).join('.')}.${'A'.repeat(43)}`,
    ];
    expect(activationJti).toBeNull();
    for (const other of others) {
      const response = await confirm(other);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual(INVALID_LINK);
    }
    await getDb(env.DB).update(users).set({ isActive: false }).where(eq(users.id, user.id));
    expect((await confirm(token!)).status).toBe(400);
    expect((await row(user.id)).email).toBe(`${user.username}@example.com`);
  });

  it("one user's link never changes another's address", async () => {
    const victim = await createUser();
    const attacker = await createUserWithToken();
    await requestChange(attacker, 'mine@example.com');
    const { emailChangeJti } = await row(attacker.id);
    // A link naming the victim with the attacker's jti: signed by us, so only the jti protects.
    const crafted = await issueEmailChangeToken(victim.id, 'mine@example.com', emailChangeJti!, settings());
    expect((await confirm(crafted)).status).toBe(400);
    expect((await row(victim.id)).email).toBe(`${victim.username}@example.com`);
  });
});

describe('an email change in the tutorial mode (ACTIVATION_DELIVERY=response)', () => {
  it('changes the address at once, unverified, and mails nothing', async () => {
    const user = await createUserWithToken();
    const sent = recordMail();
    const response = await request({}, 'PATCH', '/users/me/', {
      token: user.token,
      body: { email: 'at-once@example.com' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ email: 'at-once@example.com', email_verified: false });
    expect(sent).toEqual([]);
    // And a password reset to the unverified address mails nothing either.
    const reset = await request({}, 'POST', '/auth/password/reset/', { body: { email: 'at-once@example.com' } });
    expect(reset.status).toBe(200);
    expect(sent).toEqual([]);
  });
});

describe('verified addresses', () => {
  it('sending the address the account already has changes nothing, in either mode', async () => {
    const user = await createUserWithToken();
    const sent = recordMail();
    for (const mode of [EMAIL_MODE, {}]) {
      const response = await request(mode, 'PATCH', '/users/me/', {
        token: user.token,
        body: { email: `${user.username}@example.com` },
      });
      expect(await response.json()).toMatchObject({ email_verified: true });
    }
    expect(sent).toEqual([]);
    expect((await row(user.id)).emailChangeJti).toBeNull();
    expect(await getDb(env.DB).select().from(auditEvents).where(eq(auditEvents.subjectId, user.id))).toEqual([]);
  });

  it('the password reset mails only a verified address, with the same answer', async () => {
    const verified = await createUser();
    const unverified = await createUser({ emailVerified: false });
    const sent = recordMail();
    for (const user of [verified, unverified]) {
      const response = await request({}, 'POST', '/auth/password/reset/', {
        body: { email: `${user.username}@example.com` },
      });
      expect(await response.json()).toEqual({
        detail: 'If an account uses that email, a link to reset its password is on its way.',
      });
    }
    expect(sent.map((mail) => mail.to)).toEqual([`${verified.username}@example.com`]);
  });

  it('activation by a mailed link verifies the address; the link in the tutorial answer does not', async () => {
    for (const [mode, expected] of [
      [EMAIL_MODE, true],
      [{}, false],
    ] as const) {
      const user = await createUser({ isActive: false, emailVerified: false });
      const jti = crypto.randomUUID();
      await getDb(env.DB).update(users).set({ activationJti: jti }).where(eq(users.id, user.id));
      const token = await issueActivationToken(user.id, jti, settings());
      expect((await request(mode, 'POST', '/api-activate/', { body: { token } })).status).toBe(200);
      expect((await row(user.id)).emailVerified).toBe(expected);
    }
  });
});

describe('verifying the current address (POST /auth/email/verify/)', () => {
  it('mails a link to the address; confirmed, it is verified and password resets reach it', async () => {
    const user = await createUserWithToken({ emailVerified: false });
    const address = `${user.username}@example.com`;
    const sent = recordMail();
    const asked = await request({}, 'POST', '/auth/email/verify/', { token: user.token });
    expect(asked.status).toBe(200);
    expect(sent.map((mail) => [mail.to, mail.subject])).toEqual([[address, 'Verify your email address']]);
    expect((await confirm(linkIn(sent[0]!)[2]!)).status).toBe(200);
    expect(await me(user.token)).toMatchObject({ email: address, email_verified: true });
    await request({}, 'POST', '/auth/password/reset/', { body: { email: address } });
    expect(sent.map((mail) => mail.subject)).toEqual(['Verify your email address', 'Reset your password']);
  });

  it('says so for a verified address, refuses without one, and dies when the address changes', async () => {
    const verified = await createUserWithToken();
    const sent = recordMail();
    const already = await request({}, 'POST', '/auth/email/verify/', { token: verified.token });
    expect(await already.json()).toEqual({ detail: 'This address is already verified.' });
    expect(sent).toEqual([]);

    const empty = await createUserWithToken({ emailVerified: false });
    await getDb(env.DB).update(users).set({ email: '' }).where(eq(users.id, empty.id));
    const refused = await request({}, 'POST', '/auth/email/verify/', { token: empty.token });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ email: ['Set an email address first.'] });
    expect((await request({}, 'POST', '/auth/email/verify/')).status).toBe(401);

    const mover = await createUserWithToken({ emailVerified: false });
    await request({}, 'POST', '/auth/email/verify/', { token: mover.token });
    const changed = await request({}, 'PATCH', '/users/me/', {
      token: mover.token,
      body: { email: 'moved@example.com' },
    });
    expect(changed.status).toBe(200);
    expect((await confirm(linkIn(sent.at(-1)!)[2]!)).status).toBe(400);
    expect(await me(mover.token)).toMatchObject({ email: 'moved@example.com', email_verified: false });
  });
});

describe('security notices', () => {
  it('a password change and a factor change notify the verified address, after the response', async () => {
    const user = await createUserWithToken();
    const sent = recordMail();
    const changed = await request({}, 'PATCH', '/users/me/', {
      token: user.token,
      body: { password: 'a fresh long passphrase', current_password: user.password },
    });
    expect(changed.status).toBe(200);
    const token = await accessTokenFor({ ...user, tokenVersion: 1 });
    const started = await request({}, 'POST', '/auth/mfa/totp/', { token });
    const { secret } = (await started.json()) as { secret: string };
    const { timeStep, totpCode } = await import('../../src/auth/totp');
    const code = await totpCode(secret, timeStep(new Date()));
    expect((await request({}, 'POST', '/auth/mfa/totp/confirm/', { token, body: { code } })).status).toBe(200);
    expect(sent.map((mail) => [mail.to, mail.subject])).toEqual([
      [`${user.username}@example.com`, 'Your password was changed'],
      [`${user.username}@example.com`, 'A sign-in method was added'],
    ]);
    expect(sent[1]!.text).toContain('An authenticator app was added to your account.');
  });

  it('nothing goes to an unverified address; a failing mail provider never fails the change', async () => {
    const unverified = await createUserWithToken({ emailVerified: false });
    const sent = recordMail();
    const changed = await request({}, 'PATCH', '/users/me/', {
      token: unverified.token,
      body: { password: 'a fresh long passphrase', current_password: unverified.password },
    });
    expect(changed.status).toBe(200);
    expect(sent).toEqual([]);

    const user = await createUserWithToken();
    const failing = recordMail({ failures: 1 });
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const response = await request({}, 'PATCH', '/users/me/', {
      token: user.token,
      body: { password: 'a fresh long passphrase', current_password: user.password },
    });
    expect(response.status).toBe(200);
    expect(failing).toHaveLength(1);
    vi.restoreAllMocks();
  });

  it('refresh-token reuse notifies the owner', async () => {
    const user = await createUser();
    const sent = recordMail();
    const login = await request({}, 'POST', '/auth/session/', {
      body: { username: user.username, password: user.password },
    });
    const secret = /__Secure-session=([^;]*)/.exec(login.headers.get('Set-Cookie')!)![1]!;
    const refresh = () =>
      callWithEnv({}, '/auth/session/refresh/', {
        method: 'POST',
        headers: { Origin: new URL(SITE_URL).origin, Cookie: `__Secure-session=${secret}` },
      });
    expect((await refresh()).status).toBe(200);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + (settings().sessionRotationGrace + 1) * 1000);
    expect((await refresh()).status).toBe(401);
    expect(sent.map((mail) => [mail.to, mail.subject])).toEqual([
      [`${user.username}@example.com`, 'Your session was ended: a sign-in cookie was used twice'],
    ]);
  });
});

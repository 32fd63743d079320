/**
 * The audit log through the real app and D1: each kind of SPEC.md written by the change it
 * records (and only when the change happens), in the same batch (a failed batch leaves neither),
 * no secret in any event, and the two lists: staff read everything, a user their own account.
 */
import type { PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/server';
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it, vi } from 'vitest';
import { passwordFingerprint } from '../../src/auth/passwords';
import { issuePasswordResetToken } from '../../src/auth/tokens';
import { timeStep, totpCode } from '../../src/auth/totp';
import { getDb } from '../../src/db/client';
import { auditEvents, tasks, users } from '../../src/db/schema';
import {
  accessTokenFor,
  call,
  callWithEnv,
  createUser,
  createUserWithToken,
  pathOf,
  proxyD1,
  register,
  send,
  settings,
  SITE_URL,
  type TestUser,
} from '../helpers';
import { SoftAuthenticator } from '../soft-authenticator';

const db = () => getDb(env.DB);
const ORIGIN = new URL(SITE_URL).origin;
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';

const eventsOf = (subjectId: number) =>
  db().select().from(auditEvents).where(eq(auditEvents.subjectId, subjectId)).orderBy(auditEvents.id);
const kindsOf = async (subjectId: number) => (await eventsOf(subjectId)).map((event) => event.kind);

const json = (method: string, body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method,
  headers: { 'Content-Type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/** The token of `user` after one token version bump (a factor change, a password change). */
const nextToken = (user: TestUser) => accessTokenFor({ ...user, tokenVersion: user.tokenVersion + 1 });

async function sessionLogin(user: TestUser) {
  const response = await call(
    '/auth/session/',
    json('POST', { username: user.username, password: user.password }, { 'User-Agent': FIREFOX }),
  );
  expect(response.status).toBe(200);
  const secret = /__Secure-session=([^;]*)/.exec(response.headers.get('Set-Cookie')!)![1]!;
  return { secret, token: ((await response.json()) as { token: string }).token };
}

const refresh = (secret: string) =>
  call('/auth/session/refresh/', { method: 'POST', headers: { Origin: ORIGIN, Cookie: `__Secure-session=${secret}` } });

describe('events written with the change they record', () => {
  it('a login: login.succeeded with the request id, the IP and the short user agent', async () => {
    const user = await createUser();
    const response = await callWithEnv(
      {},
      '/auth/obtain_token/',
      json(
        'POST',
        { username: user.username, password: user.password },
        { 'CF-Connecting-IP': '203.0.113.7', 'User-Agent': FIREFOX },
      ),
    );
    expect(response.status).toBe(200);
    const [event] = await eventsOf(user.id);
    expect(event).toMatchObject({
      kind: 'login.succeeded',
      actorId: user.id,
      actorName: user.username,
      subjectId: user.id,
      subjectName: user.username,
      requestId: response.headers.get('X-Request-Id'),
      ip: '203.0.113.7',
      userAgent: 'Firefox on Linux',
    });
    expect(JSON.parse(event!.details)).toEqual({ methods: ['pwd'] });
  });

  it('a failed login: login.failed on the account it names; an unknown username is not kept', async () => {
    const user = await createUser();
    const wrong = await callWithEnv(
      {},
      '/auth/obtain_token/',
      json('POST', { username: user.username, password: 'nope' }),
    );
    expect(wrong.status).toBe(400);
    const [event] = await eventsOf(user.id);
    expect(event).toMatchObject({ kind: 'login.failed', actorId: null, subjectId: user.id });

    const ip = '198.51.100.99';
    const unknown = await callWithEnv(
      {},
      '/auth/obtain_token/',
      json('POST', { username: 'no such user anywhere', password: 'x' }, { 'CF-Connecting-IP': ip }),
    );
    expect(unknown.status).toBe(400);
    const kept = await db().select().from(auditEvents).where(eq(auditEvents.ip, ip));
    expect(kept.map((row) => [row.kind, row.subjectId, row.details])).toEqual([['login.failed', null, '{}']]);
    expect(JSON.stringify(kept)).not.toContain('no such user anywhere');
  });

  it('with a second factor: the login is recorded at its second step, a wrong code as login.failed', async () => {
    const user = await createUserWithToken();
    const started = await send('POST', '/auth/mfa/totp/', { token: user.token });
    const { secret } = (await started.json()) as { secret: string };
    const code = await totpCode(secret, timeStep(new Date()));
    expect((await send('POST', '/auth/mfa/totp/confirm/', { token: user.token, body: { code } })).status).toBe(200);
    const password = await callWithEnv(
      {},
      '/auth/obtain_token/',
      json('POST', { username: user.username, password: user.password }),
    );
    const { mfa_token } = (await password.json()) as { mfa_token: string };
    const wrong = await callWithEnv({}, '/auth/mfa/verify/', json('POST', { mfa_token, code: '000000' }));
    expect(wrong.status).toBe(400);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 30_000);
    try {
      const next = await totpCode(secret, timeStep(new Date()));
      expect((await callWithEnv({}, '/auth/mfa/verify/', json('POST', { mfa_token, code: next }))).status).toBe(200);
    } finally {
      vi.useRealTimers();
    }
    const events = (await eventsOf(user.id)).filter((event) => event.kind.startsWith('login.'));
    expect(events.map((event) => [event.kind, JSON.parse(event.details)])).toEqual([
      ['login.failed', { step: 'second_factor' }],
      ['login.succeeded', { methods: ['pwd', 'otp', 'mfa'] }],
    ]);
    const [row] = await db().select({ lastLogin: users.lastLogin }).from(users).where(eq(users.id, user.id));
    expect(row!.lastLogin).not.toBeNull();
  });

  it('logout: everywhere (POST /auth/logout/) and one session (DELETE /auth/session/)', async () => {
    const user = await createUserWithToken();
    expect((await send('POST', '/auth/logout/', { token: user.token })).status).toBe(204);
    const { secret } = await sessionLogin({ ...user, tokenVersion: 1 });
    const ended = await call('/auth/session/', {
      method: 'DELETE',
      headers: { Origin: ORIGIN, Cookie: `__Secure-session=${secret}` },
    });
    expect(ended.status).toBe(204);
    // A cookie that is no session writes nothing.
    await call('/auth/session/', {
      method: 'DELETE',
      headers: { Origin: ORIGIN, Cookie: `__Secure-session=${secret}` },
    });
    const logouts = (await eventsOf(user.id)).filter((event) => event.kind === 'logout');
    expect(logouts.map((event) => [event.actorId, JSON.parse(event.details)])).toEqual([
      [user.id, { everywhere: true }],
      [user.id, { everywhere: false }],
    ]);
  });

  it('password.changed and email.changed; a refused change writes nothing', async () => {
    const user = await createUserWithToken();
    const refused = await send('PATCH', '/users/me/', {
      token: user.token,
      body: { password: 'a new long passphrase', current_password: 'wrong' },
    });
    expect(refused.status).toBe(400);
    expect(await kindsOf(user.id)).toEqual([]);
    const changed = await send('PATCH', '/users/me/', {
      token: user.token,
      body: { password: 'a new long passphrase', current_password: user.password, email: 'new@example.com' },
    });
    expect(changed.status).toBe(200);
    const events = await eventsOf(user.id);
    expect(events.map((event) => [event.kind, JSON.parse(event.details)])).toEqual([
      ['email.changed', { email: 'new@example.com' }],
      ['password.changed', {}],
    ]);
    const emailOnly = await send('PATCH', '/users/me/', {
      token: await nextToken(user),
      body: { email: 'b@example.com' },
    });
    expect(emailOnly.status).toBe(200);
    expect((await kindsOf(user.id)).slice(2)).toEqual(['email.changed']);
  });

  it('password.reset, once: the second use of the link writes nothing', async () => {
    const user = await createUser();
    const [row] = await db().select({ password: users.password }).from(users).where(eq(users.id, user.id));
    const token = await issuePasswordResetToken(user.id, await passwordFingerprint(row!.password), settings());
    const confirm = () =>
      call('/auth/password/reset/confirm/', json('POST', { token, new_password: 'a brand new passphrase' }));
    expect((await confirm()).status).toBe(200);
    expect((await confirm()).status).toBe(400);
    const events = await eventsOf(user.id);
    expect(events.map((event) => [event.kind, event.actorId])).toEqual([['password.reset', user.id]]);
  });

  it('totp.added, recovery_codes.regenerated and totp.removed', async () => {
    const user = await createUserWithToken();
    const started = await send('POST', '/auth/mfa/totp/', { token: user.token });
    const { secret } = (await started.json()) as { secret: string };
    const code = await totpCode(secret, timeStep(new Date()));
    expect((await send('POST', '/auth/mfa/totp/confirm/', { token: user.token, body: { code } })).status).toBe(200);
    const token = await nextToken(user);
    expect((await send('POST', '/auth/mfa/recovery-codes/', { token })).status).toBe(200);
    expect((await send('DELETE', '/auth/mfa/totp/', { token })).status).toBe(204);
    // Nothing left to remove: no event.
    expect(
      (await send('DELETE', '/auth/mfa/totp/', { token: await accessTokenFor({ ...user, tokenVersion: 2 }) })).status,
    ).toBe(404);
    expect(await kindsOf(user.id)).toEqual(['totp.added', 'recovery_codes.regenerated', 'totp.removed']);
  });

  it('passkey.added with its name, passkey.removed; a passkey of another user is not removed and writes nothing', async () => {
    const user = await createUserWithToken();
    const device = new SoftAuthenticator({ origin: SITE_URL });
    const options = await send('POST', '/auth/passkeys/options/', { token: user.token });
    const credential = await device.create((await options.json()) as PublicKeyCredentialCreationOptionsJSON);
    const added = await send('POST', '/auth/passkeys/', {
      token: user.token,
      body: { response: credential, name: 'Work laptop' },
    });
    expect(added.status).toBe(201);
    const { id } = (await added.json()) as { id: number };
    const other = await createUserWithToken();
    expect((await send('DELETE', `/auth/passkeys/${id}/`, { token: other.token })).status).toBe(404);
    expect(await kindsOf(other.id)).toEqual([]);
    expect((await send('DELETE', `/auth/passkeys/${id}/`, { token: await nextToken(user) })).status).toBe(204);
    const events = await eventsOf(user.id);
    expect(events.map((event) => [event.kind, JSON.parse(event.details)])).toEqual([
      ['passkey.added', { name: 'Work laptop' }],
      ['passkey.removed', { passkey: id }],
    ]);
  });

  it('session.ended, session.others_ended, and session.reuse_detected for a rotated cookie presented again', async () => {
    const user = await createUser();
    const first = await sessionLogin(user);
    const second = await sessionLogin(user);
    const secondId = JSON.parse(atob(second.token.split('.')[1]!)).sid as string;
    expect((await send('DELETE', `/auth/sessions/${secondId}/`, { token: first.token })).status).toBe(204);
    // Ending the others when there are none writes nothing; with a third login, it does.
    expect((await send('DELETE', '/auth/sessions/', { token: first.token })).status).toBe(204);
    await sessionLogin(user);
    expect((await send('DELETE', '/auth/sessions/', { token: first.token })).status).toBe(204);

    const rotated = await refresh(first.secret);
    expect(rotated.status).toBe(200);
    // A normal refresh is no event; the old cookie again, past the grace, is.
    expect((await kindsOf(user.id)).filter((kind) => kind.startsWith('session.'))).toEqual([
      'session.ended',
      'session.others_ended',
    ]);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + (settings().sessionRotationGrace + 1) * 1000);
    try {
      expect((await refresh(first.secret)).status).toBe(401);
    } finally {
      vi.useRealTimers();
    }
    const events = await eventsOf(user.id);
    expect(
      events.filter((event) => event.kind.startsWith('session.')).map((event) => [event.kind, event.details]),
    ).toEqual([
      ['session.ended', JSON.stringify({ session: secondId })],
      ['session.others_ended', '{}'],
      ['session.reuse_detected', '{}'],
    ]);
    // An ended session refused is no reuse.
    expect((await refresh(first.secret)).status).toBe(401);
    expect((await kindsOf(user.id)).filter((kind) => kind === 'session.reuse_detected')).toHaveLength(1);
  });

  it('a current cookie of a revoked session is refused without a reuse event', async () => {
    const user = await createUserWithToken();
    const { secret } = await sessionLogin(user);
    expect((await send('POST', '/auth/logout/', { token: user.token })).status).toBe(204);
    expect((await refresh(secret)).status).toBe(401);
    expect((await kindsOf(user.id)).filter((kind) => kind.startsWith('session.'))).toEqual([]);
  });

  it('user.registered and user.activated, once', async () => {
    const { username, confirmationUrl } = await register();
    const [row] = await db().select({ id: users.id }).from(users).where(eq(users.username, username));
    expect((await call(pathOf(confirmationUrl))).status).toBe(200);
    expect((await call(pathOf(confirmationUrl))).status).toBe(400);
    const events = await eventsOf(row!.id);
    expect(events.map((event) => [event.kind, event.subjectName, JSON.parse(event.details)])).toEqual([
      ['user.registered', username, { email: `${username}@example.com` }],
      ['user.activated', username, {}],
    ]);
  });
});

describe('staff actions', () => {
  it('staff.user_changed, staff.factors_removed and staff.user_deleted, which keeps the username', async () => {
    const staff = await createUserWithToken({ isStaff: true });
    const target = await createUser();
    const changed = await send('PATCH', `/users/${target.id}/`, { token: staff.token, body: { is_active: false } });
    expect(changed.status).toBe(200);
    expect((await send('DELETE', `/users/${target.id}/mfa/`, { token: staff.token })).status).toBe(204);
    expect((await send('DELETE', `/users/${target.id}/`, { token: staff.token })).status).toBe(204);
    const events = await eventsOf(target.id);
    expect(events.map((event) => [event.kind, event.actorName, event.subjectName, JSON.parse(event.details)])).toEqual([
      ['staff.user_changed', staff.username, target.username, { is_active: false }],
      ['staff.factors_removed', staff.username, target.username, {}],
      ['staff.user_deleted', staff.username, target.username, {}],
    ]);
  });

  it('nothing for a refused staff action: a non-staff caller, or a user that does not exist', async () => {
    const caller = await createUserWithToken();
    const target = await createUser();
    expect(
      (await send('PATCH', `/users/${target.id}/`, { token: caller.token, body: { is_staff: true } })).status,
    ).toBe(403);
    expect((await send('DELETE', `/users/${target.id}/`, { token: caller.token })).status).toBe(403);
    expect((await send('DELETE', `/users/${target.id}/mfa/`, { token: caller.token })).status).toBe(403);
    // A token that says staff while D1 no longer does.
    const demoted = await createUser();
    const demotedToken = await accessTokenFor({ ...demoted, isStaff: true });
    expect((await send('DELETE', `/users/${target.id}/`, { token: demotedToken })).status).toBe(403);
    expect(await kindsOf(target.id)).toEqual([]);
    const staff = await createUserWithToken({ isStaff: true });
    expect((await send('DELETE', '/users/999999999/', { token: staff.token })).status).toBe(404);
    expect(await kindsOf(999_999_999)).toEqual([]);
  });

  it("a staff write on another person's task: staff.task_created, staff.task_changed, staff.task_deleted; never for their own", async () => {
    const staff = await createUserWithToken({ isStaff: true });
    const owner = await createUser();
    const created = await send('POST', '/tasks/', {
      token: staff.token,
      body: { title: 'for you', person: owner.id, due_to: '2030-01-01T00:00:00Z' },
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: number };
    expect((await send('PATCH', `/tasks/${id}/`, { token: staff.token, body: { title: 'renamed' } })).status).toBe(200);
    expect((await send('DELETE', `/tasks/${id}/`, { token: staff.token })).status).toBe(204);
    const own = await send('POST', '/tasks/', {
      token: staff.token,
      body: { title: 'mine', due_to: '2030-01-01T00:00:00Z' },
    });
    const ownId = ((await own.json()) as { id: number }).id;
    expect(
      (await send('PATCH', `/tasks/${ownId}/`, { token: staff.token, body: { title: 'still mine' } })).status,
    ).toBe(200);
    // Giving their own task to someone else is a staff action too.
    expect((await send('PATCH', `/tasks/${ownId}/`, { token: staff.token, body: { person: owner.id } })).status).toBe(
      200,
    );
    const events = await eventsOf(owner.id);
    expect(events.map((event) => [event.kind, event.actorId, JSON.parse(event.details)])).toEqual([
      ['staff.task_created', staff.id, { title: 'for you' }],
      ['staff.task_changed', staff.id, { task: id }],
      ['staff.task_deleted', staff.id, { task: id }],
    ]);
    const onStaff = await eventsOf(staff.id);
    expect(onStaff.map((event) => [event.kind, JSON.parse(event.details)])).toEqual([
      ['staff.task_changed', { task: ownId, person: owner.id }],
    ]);
    // The owner changing their own task is no event; nor is a refused write by another user.
    const [task] = await db()
      .insert(tasks)
      .values({ title: 't', personId: owner.id, dueTo: '2030-01-01T00:00:00.000000Z' })
      .returning();
    const ownerToken = await accessTokenFor(owner);
    expect((await send('PATCH', `/tasks/${task!.id}/`, { token: ownerToken, body: { title: 'u' } })).status).toBe(200);
    const stranger = await createUserWithToken();
    expect((await send('DELETE', `/tasks/${task!.id}/`, { token: stranger.token })).status).toBe(403);
    expect(await kindsOf(owner.id)).toHaveLength(3);
  });
});

/** A D1 binding whose audit inserts fail: the batch they are in fails as a whole. */
const failingAudit = () =>
  proxyD1(env.DB, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property === 'prepare') {
        return (query: string) =>
          target.prepare(
            query.startsWith('insert into "audit_events"')
              ? query.replace('"audit_events"', '"audit_events_gone"')
              : query,
          );
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });

describe('a change and its event in one batch', () => {
  it('when the event cannot be written, the change is not made either', async () => {
    const broken = failingAudit();
    const user = await createUserWithToken();
    const changed = await callWithEnv({ DB: broken }, '/users/me/', {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${user.token}` },
      body: JSON.stringify({
        password: 'a new long passphrase',
        current_password: user.password,
        email: 'x@example.com',
      }),
    });
    expect(changed.status).toBe(500);
    const loggedOut = await callWithEnv({ DB: broken }, '/auth/logout/', {
      method: 'POST',
      headers: { Authorization: `Bearer ${user.token}` },
    });
    expect(loggedOut.status).toBe(500);
    const [row] = await db().select().from(users).where(eq(users.id, user.id));
    expect(row).toMatchObject({ email: `${user.username}@example.com`, tokenVersion: 0 });
    expect((await call('/api-auth/', json('POST', { username: user.username, password: user.password }))).status).toBe(
      200,
    );

    const staff = await createUserWithToken({ isStaff: true });
    const target = await createUser();
    const deleted = await callWithEnv({ DB: broken }, `/users/${target.id}/`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${staff.token}` },
    });
    expect(deleted.status).toBe(500);
    expect(await db().select({ id: users.id }).from(users).where(eq(users.id, target.id))).toHaveLength(1);

    const registered = await callWithEnv(
      { DB: broken },
      '/api-register/',
      json('POST', {
        username: 'never_stored_user',
        password: 'a long enough password',
        email: 'never@example.com',
      }),
    );
    expect(registered.status).toBe(500);
    expect(await db().select({ id: users.id }).from(users).where(eq(users.username, 'never_stored_user'))).toEqual([]);
    // Only the login events (written after the response) exist for these users: nothing else.
    expect((await kindsOf(user.id)).filter((kind) => kind !== 'login.succeeded')).toEqual([]);
    expect(await kindsOf(target.id)).toEqual([]);
  });

  it('a login whose record fails leaves neither last_login nor the event', async () => {
    const user = await createUser();
    const response = await callWithEnv(
      { DB: failingAudit() },
      '/auth/obtain_token/',
      json('POST', {
        username: user.username,
        password: user.password,
      }),
    );
    // The record is written after the response: the login itself succeeds.
    expect(response.status).toBe(200);
    const [row] = await db().select({ lastLogin: users.lastLogin }).from(users).where(eq(users.id, user.id));
    expect(row!.lastLogin).toBeNull();
    expect(await kindsOf(user.id)).toEqual([]);
  });
});

describe('what events keep', () => {
  it('never a password, a token, a code, a cookie or a hash', async () => {
    const user = await createUserWithToken({ password: 'secret passphrase one' });
    const secrets: string[] = [user.password, user.token];
    const started = await send('POST', '/auth/mfa/totp/', { token: user.token });
    const { secret } = (await started.json()) as { secret: string };
    const code = await totpCode(secret, timeStep(new Date()));
    const confirmed = await send('POST', '/auth/mfa/totp/confirm/', { token: user.token, body: { code } });
    const { recovery_codes } = (await confirmed.json()) as { recovery_codes: string[] };
    secrets.push(secret, code, ...recovery_codes);
    const token = await nextToken(user);
    const changed = await send('PATCH', '/users/me/', {
      token,
      body: { password: 'secret passphrase two', current_password: user.password },
    });
    expect(changed.status).toBe(200);
    secrets.push('secret passphrase two');
    const wrong = await callWithEnv(
      {},
      '/auth/obtain_token/',
      json('POST', { username: user.username, password: 'secret guess three' }),
    );
    expect(wrong.status).toBe(400);
    secrets.push('secret guess three');
    const [row] = await db().select({ password: users.password }).from(users).where(eq(users.id, user.id));
    secrets.push(row!.password, row!.password.split('$')[3]!);

    const kept = JSON.stringify(await eventsOf(user.id));
    expect(JSON.parse(kept).map((event: { kind: string }) => event.kind)).toEqual([
      'totp.added',
      'password.changed',
      'login.failed',
    ]);
    for (const value of secrets) expect(kept).not.toContain(value);
  });
});

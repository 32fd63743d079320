/**
 * A user's own sessions: GET /auth/sessions/ lists where they are logged in; DELETE ends one, or
 * all but this one. One user never sees or ends another's; ending another device needs a recent
 * login. Through the real app and D1.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { getDb } from '../../src/db/client';
import { sessions } from '../../src/db/schema';
import { shortUserAgent } from '../../src/http/user-agent';
import {
  accessTokenFor,
  call,
  callWithEnv,
  createUser,
  decodeJwt,
  measuringD1,
  obtainToken,
  send,
  SITE_URL,
  type TestUser,
} from '../helpers';

const ORIGIN = new URL(SITE_URL).origin;
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';

interface Session {
  id: string;
  created: string;
  last_used: string;
  user_agent: string;
  current: boolean;
}

/** A session login with this User-Agent: its cookie secret, its token and its id (`sid`). */
async function logIn(user: TestUser, userAgent = FIREFOX) {
  const response = await call('/auth/session/', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'User-Agent': userAgent },
    body: JSON.stringify({ username: user.username, password: user.password }),
  });
  expect(response.status).toBe(200);
  const { token } = (await response.json()) as { token: string };
  const secret = /__Secure-session=([^;]*)/.exec(response.headers.get('Set-Cookie')!)![1]!;
  return { secret, token, id: decodeJwt(token).payload.sid as string };
}

const refresh = (secret: string) =>
  call('/auth/session/refresh/', { method: 'POST', headers: { Origin: ORIGIN, Cookie: `__Secure-session=${secret}` } });

async function rotate(secret: string): Promise<string> {
  const response = await refresh(secret);
  expect(response.status).toBe(200);
  return /__Secure-session=([^;]*)/.exec(response.headers.get('Set-Cookie')!)![1]!;
}

async function list(token: string): Promise<Session[]> {
  const response = await send('GET', '/auth/sessions/', { token });
  expect(response.status).toBe(200);
  return (await response.json()) as Session[];
}

/** A token of session `id` whose login is an hour old: past REAUTH_MAX_AGE (10 minutes). */
const staleToken = (user: TestUser, id?: string) =>
  accessTokenFor(user, {
    sessionId: id,
    authentication: { amr: ['pwd'], authTime: Math.floor(Date.now() / 1000) - 3600 },
  });

describe('GET /auth/sessions/', () => {
  it("lists the caller's sessions, newest login first, with a short user agent and this one marked", async () => {
    const user = await createUser();
    const laptop = await logIn(user, FIREFOX);
    const phone = await logIn(user, SAFARI_IPHONE);
    await logIn(await createUser()); // someone else's

    const sessions = await list(phone.token);
    expect(sessions.map(({ id, user_agent, current }) => ({ id, user_agent, current }))).toEqual([
      { id: phone.id, user_agent: 'Safari on iOS', current: true },
      { id: laptop.id, user_agent: 'Firefox on Linux', current: false },
    ]);
    expect(sessions[0]!.created).toBe(sessions[0]!.last_used);
    expect(Date.parse(sessions[0]!.created)).toBeGreaterThanOrEqual(Date.parse(sessions[1]!.created));
    // From a bearer token of no session, none is this one.
    expect((await list(await obtainToken(user.username, user.password))).map(({ current }) => current)).toEqual([
      false,
      false,
    ]);
  });

  it('keeps the id, the login time and the user agent through refreshes, and moves the last use', async () => {
    const user = await createUser();
    const session = await logIn(user);
    const [before] = await list(session.token);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await rotate(await rotate(session.secret));
    const after = await list(session.token);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ id: session.id, created: before!.created, user_agent: 'Firefox on Linux' });
    expect(Date.parse(after[0]!.last_used)).toBeGreaterThan(Date.parse(before!.last_used));
  });

  it('leaves out ended sessions, and lists none once a password change ends them all', async () => {
    const user = await createUser();
    const ended = await logIn(user);
    const kept = await logIn(user);
    await call('/auth/session/', {
      method: 'DELETE',
      headers: { Origin: ORIGIN, Cookie: `__Secure-session=${ended.secret}` },
    });
    expect((await list(kept.token)).map(({ id }) => id)).toEqual([kept.id]);

    const changed = await send('PATCH', '/users/me/', {
      token: kept.token,
      body: { password: 'a new passphrase entirely', current_password: user.password },
    });
    expect(changed.status).toBe(200);
    expect(await list(await obtainToken(user.username, 'a new passphrase entirely'))).toEqual([]);
  });

  it('leaves out a session past its absolute end, before pruning removes it', async () => {
    const user = await createUser();
    const expired = await logIn(user);
    const live = await logIn(user);
    await getDb(env.DB)
      .update(sessions)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(sessions.family, expired.id));
    expect((await list(live.token)).map(({ id }) => id)).toEqual([live.id]);
  });

  it('shows the 100 newest logins of a user who has more', async () => {
    const user = await createUser();
    const newest = await logIn(user);
    // 100 older sessions, straight into D1: a login each through the API would hash 100 passwords.
    await env.DB.prepare(
      `with recursive n(i) as (select 1 union all select i + 1 from n where i < 100)
       insert into sessions (family, user_id, secret_hash, token_version, login_at, expires_at, issued_at)
       select 'old-' || i, ?1, 'hash-' || ?1 || '-' || i, 0, ?2 - i * 1000, ?2 + 86400000, ?2 - i * 1000 from n`,
    )
      .bind(user.id, Date.now() - 60_000)
      .run();
    const sessions = await list(newest.token);
    expect(sessions).toHaveLength(100);
    expect(sessions[0]!.id).toBe(newest.id);
    expect(sessions.map(({ id }) => id)).not.toContain('old-100');
  });

  it('needs a token', async () => {
    expect((await call('/auth/sessions/')).status).toBe(401);
  });

  it('reads only the current row of each session, however many refreshes came before', async () => {
    const user = await createUser();
    let { secret, token } = await logIn(user);
    for (let i = 0; i < 30; i++) secret = await rotate(secret);
    await logIn(user);
    const measure = measuringD1();
    const response = await callWithEnv({ DB: measure.binding }, '/auth/sessions/', {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(((await response.json()) as Session[]).length).toBe(2);
    // The two current rows and the user's token version; not the 30 rotated rows.
    expect(measure.rowsRead()).toBeLessThanOrEqual(5);
  });
});

describe('DELETE /auth/sessions/<id>/', () => {
  it('ends another of my sessions with a recent login: it can no longer refresh, mine still can', async () => {
    const user = await createUser();
    const other = await logIn(user);
    const mine = await logIn(user);
    expect((await send('DELETE', `/auth/sessions/${other.id}/`, { token: mine.token })).status).toBe(204);
    expect((await refresh(other.secret)).status).toBe(401);
    expect((await refresh(mine.secret)).status).toBe(200);
    expect((await send('DELETE', `/auth/sessions/${other.id}/`, { token: mine.token })).status).toBe(404);
  });

  it('refuses to end another session without a recent login, which stays alive', async () => {
    const user = await createUser();
    const other = await logIn(user);
    const mine = await logIn(user);
    const response = await send('DELETE', `/auth/sessions/${other.id}/`, { token: await staleToken(user, mine.id) });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ code: 'reauth_required' });
    expect((await refresh(other.secret)).status).toBe(200);
  });

  it('ends this session without a recent login, as a logout does', async () => {
    const user = await createUser();
    const mine = await logIn(user);
    expect(
      (await send('DELETE', `/auth/sessions/${mine.id}/`, { token: await staleToken(user, mine.id) })).status,
    ).toBe(204);
    expect((await refresh(mine.secret)).status).toBe(401);
  });

  it("answers 404 for another user's session, which stays alive, and for an id that is no session", async () => {
    const owner = await createUser();
    const theirs = await logIn(owner);
    const intruder = await createUser();
    const { token } = await logIn(intruder);
    expect((await send('DELETE', `/auth/sessions/${theirs.id}/`, { token })).status).toBe(404);
    expect((await refresh(theirs.secret)).status).toBe(200);
    for (const id of [crypto.randomUUID(), 'not-a-session', '1', `${theirs.id.toUpperCase()}`]) {
      expect((await send('DELETE', `/auth/sessions/${id}/`, { token })).status, id).toBe(404);
    }
  });
});

describe('DELETE /auth/sessions/', () => {
  it('ends every other session of mine and keeps this one, never touching another user', async () => {
    const user = await createUser();
    const others = [await logIn(user), await logIn(user)];
    const mine = await logIn(user);
    const someoneElse = await logIn(await createUser());
    expect((await send('DELETE', '/auth/sessions/', { token: mine.token })).status).toBe(204);
    for (const other of others) expect((await refresh(other.secret)).status).toBe(401);
    expect((await refresh(mine.secret)).status).toBe(200);
    expect((await refresh(someoneElse.secret)).status).toBe(200);
  });

  it('ends them all from a token of no session (obtain)', async () => {
    const user = await createUser();
    const session = await logIn(user);
    const token = await obtainToken(user.username, user.password);
    expect((await send('DELETE', '/auth/sessions/', { token })).status).toBe(204);
    expect((await refresh(session.secret)).status).toBe(401);
  });

  it('needs a recent login', async () => {
    const user = await createUser();
    const other = await logIn(user);
    const mine = await logIn(user);
    const response = await send('DELETE', '/auth/sessions/', { token: await staleToken(user, mine.id) });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ code: 'reauth_required' });
    expect((await refresh(other.secret)).status).toBe(200);
  });
});

describe('shortUserAgent', () => {
  it.each([
    [FIREFOX, 'Firefox on Linux'],
    [SAFARI_IPHONE, 'Safari on iOS'],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
      'Edge on Windows',
    ],
    [
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      'Chrome on macOS',
    ],
    [
      'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
      'Chrome on Android',
    ],
    [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36',
      'Chrome on Linux',
    ],
    ['curl/8.5.0', 'curl'],
    ['HTTPie/3.2.2', 'HTTPie'],
    ['', ''],
    [undefined, ''],
    ['<script>', ''],
    [`x${'y'.repeat(500)}`, `x${'y'.repeat(39)}`],
  ])('%s is %s', (header, short) => {
    expect(shortUserAgent(header)).toBe(short);
  });
});

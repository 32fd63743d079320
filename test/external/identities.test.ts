/**
 * Linked accounts at other providers: the list, linking from the profile (a recent login, never by
 * email), and unlinking while another way to log in remains.
 */
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { getDb } from '../../src/db/client';
import { auditEvents, identities } from '../../src/db/schema';
import {
  accessTokenFor,
  callWithEnv,
  decodeJwt,
  createUser,
  postJson,
  recordMail,
  SITE_URL,
  uniqueName,
  type TestUser,
} from '../helpers';
import { callUs, CookieJar, logInAtProvider, providersEnv, signInWith } from './sign-in';

const db = () => getDb(env.DB);

const asUser = async (user: TestUser, authTime = Math.floor(Date.now() / 1000)) => ({
  Authorization: `Bearer ${await accessTokenFor(user, { authentication: { amr: ['pwd'], authTime } })}`,
});

/** Links the provider's `login` to `user` from the profile; answers where the callback sent the browser. */
async function link(user: TestUser, provider: string, login: string) {
  const jar = new CookieJar();
  const started = await callUs(providersEnv(), `/auth/external/${provider}/link/`, jar, {
    headers: await asUser(user),
  });
  expect(started.status).toBe(200);
  jar.store(started);
  const { location } = (await started.json()) as { location: string };
  const callback = await logInAtProvider(new URL(location), login);
  const back = await callUs(providersEnv(), callback, jar);
  return back.headers.get('Location');
}

const list = async (user: TestUser) =>
  (await (
    await callUs(providersEnv(), '/auth/identities/', new CookieJar(), { headers: await asUser(user) })
  ).json()) as {
    id: number;
    provider: string;
  }[];

const unlink = async (user: TestUser, id: number, authTime?: number) =>
  callUs(providersEnv(), `/auth/identities/${id}/`, new CookieJar(), {
    method: 'DELETE',
    headers: await asUser(user, authTime),
  });

describe('linking from the profile', () => {
  it('links a provider account to a password account, listed and recorded; then it signs that account in', async () => {
    const user = await createUser();
    const login = uniqueName('linked');
    expect(await link(user, 'local', login)).toBe(`${SITE_URL}/app/security?link=linked`);
    expect(await list(user)).toEqual([
      {
        id: expect.any(Number),
        provider: 'local',
        provider_name: 'Local ID',
        email: `${login}@example.com`,
        email_verified: true,
        created: expect.stringMatching(/Z$/),
        last_used: expect.stringMatching(/Z$/),
      },
    ]);
    const events = await db().select().from(auditEvents).where(eq(auditEvents.subjectId, user.id));
    expect(events.map((event) => [event.kind, JSON.parse(event.details)])).toContainEqual([
      'identity.linked',
      { provider: 'local' },
    ]);
    const { jar } = await signInWith(providersEnv(), 'local', login);
    const refreshed = await callUs(providersEnv(), '/auth/session/refresh/', jar, {
      method: 'POST',
      headers: { Origin: SITE_URL },
    });
    const { token } = (await refreshed.json()) as { token: string };
    expect(decodeJwt(token).payload.user_id).toBe(user.id);
  });

  it("never takes an account already linked to someone else's, and needs a recent login", async () => {
    const login = uniqueName('owned');
    await signInWith(providersEnv(), 'local', login);
    const [owned] = await db().select().from(identities).where(eq(identities.subject, login));
    const other = await createUser();
    expect(await link(other, 'local', login)).toBe(`${SITE_URL}/app/security?link=in_use`);
    expect((await db().select().from(identities).where(eq(identities.subject, login)))[0]!.userId).toBe(owned!.userId);
    const stale = await callUs(providersEnv(), '/auth/external/local/link/', new CookieJar(), {
      headers: await asUser(other, Math.floor(Date.now() / 1000) - 3600),
    });
    expect(stale.status).toBe(403);
    expect(await stale.json()).toMatchObject({ code: 'reauth_required' });
    const anonymous = await callUs(providersEnv(), '/auth/external/local/link/', new CookieJar());
    expect(anonymous.status).toBe(401);
  });
});

describe('unlinking', () => {
  it('refuses the last way to log in, and allows it once another exists', async () => {
    const login = uniqueName('only');
    await signInWith(providersEnv(), 'local', login);
    const [identity] = await db().select().from(identities).where(eq(identities.subject, login));
    const owner = { id: identity!.userId, username: login, password: '', isStaff: false, tokenVersion: 0 };
    const refused = await unlink(owner, identity!.id);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      detail: 'This is your only way to log in: set a password or add a passkey before unlinking it.',
    });
    expect(await link(owner, 'github', uniqueName('second'))).toBe(`${SITE_URL}/app/security?link=linked`);
    // Unlinking needs a recent login, as every change of how one logs in does.
    expect((await unlink(owner, identity!.id, Math.floor(Date.now() / 1000) - 3600)).status).toBe(403);
    expect((await unlink(owner, identity!.id)).status).toBe(204);
    const [left] = await list(owner);
    expect(left!.provider).toBe('github');
    expect((await unlink(owner, left!.id)).status).toBe(400);
  });

  it("answers 404 for another user's identity, and leaves it", async () => {
    const login = uniqueName('theirs');
    await signInWith(providersEnv(), 'local', login);
    const [identity] = await db().select().from(identities).where(eq(identities.subject, login));
    const stranger = await createUser();
    expect((await unlink(stranger, identity!.id)).status).toBe(404);
    expect(await db().select().from(identities).where(eq(identities.id, identity!.id))).toHaveLength(1);
  });
});

describe('an account made by a provider', () => {
  it('gets a password through the reset link mailed to its verified address; then it may unlink', async () => {
    const login = uniqueName('resets');
    await signInWith(providersEnv(), 'local', login);
    const [identity] = await db().select().from(identities).where(eq(identities.subject, login));
    const sent = recordMail();
    const json = (body: unknown) => ({
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect((await callWithEnv({}, '/auth/password/reset/', json({ email: `${login}@example.com` }))).status).toBe(200);
    expect(sent).toHaveLength(1);
    const [, token] = /\/app\/password-reset\/([\w.-]+)/.exec(sent[0]!.text)!;
    const password = 'a first real passphrase';
    expect((await postJson('/auth/password/reset/confirm/', { token, new_password: password })).status).toBe(200);
    expect((await postJson('/auth/obtain_token/', { username: login, password })).status).toBe(200);
    const owner = { id: identity!.userId, username: login, password, isStaff: false, tokenVersion: 1 };
    expect((await unlink(owner, identity!.id)).status).toBe(204);
  });
});

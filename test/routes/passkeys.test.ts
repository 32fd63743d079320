/**
 * Passkeys through the real app, D1 and @simplewebauthn/server, answered by a software
 * authenticator (test/soft-authenticator.ts): registration, the passwordless login, the second
 * step of a password login, re-authentication, and every rule about challenges and owners.
 */
import type {
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fromBase64url } from '../../src/base64url';
import { getDb } from '../../src/db/client';
import { users } from '../../src/db/schema';
import {
  accessTokenFor,
  createUser,
  createUserWithToken,
  decodeJwt,
  postJson,
  send,
  SITE_URL,
  type TestUser,
} from '../helpers';
import { SoftAuthenticator } from '../soft-authenticator';

const db = () => getDb(env.DB);
const INVALID = 'The passkey could not be verified. Try again.';

afterEach(() => {
  vi.useRealTimers();
});

interface Holder extends TestUser {
  token: string;
  device: SoftAuthenticator;
  passkeyId: number;
}

async function creationOptions(token: string) {
  const response = await send('POST', '/auth/passkeys/options/', { token });
  expect(response.status).toBe(200);
  return (await response.json()) as PublicKeyCredentialCreationOptionsJSON;
}

/** A user with one passkey on `device`; `token` is of the token version after registering. */
async function withPasskey(
  options: Parameters<typeof createUser>[0] = {},
  device?: SoftAuthenticator,
): Promise<Holder> {
  const user = await createUserWithToken(options);
  const authenticator = device ?? new SoftAuthenticator({ origin: SITE_URL });
  const credential = await authenticator.create(await creationOptions(user.token));
  const registered = await send('POST', '/auth/passkeys/', { token: user.token, body: { response: credential } });
  expect(registered.status).toBe(201);
  const { id } = (await registered.json()) as { id: number };
  const next = { ...user, tokenVersion: user.tokenVersion + 1 };
  return { ...next, token: await accessTokenFor(next), device: authenticator, passkeyId: id };
}

async function loginOptions() {
  const response = await postJson('/auth/passkey/options/', {});
  expect(response.status).toBe(200);
  return (await response.json()) as { options: PublicKeyCredentialRequestOptionsJSON; challenge_token: string };
}

describe('registering a passkey', () => {
  it('offers discoverable creation options for SITE_URL, and stores the passkey', async () => {
    const user = await createUserWithToken();
    const options = await creationOptions(user.token);
    expect(options.rp).toEqual({ id: 'localhost', name: 'localhost:8787' });
    expect(options.user.name).toBe(user.username);
    expect(fromBase64url(options.user.id)).toHaveLength(32); // random, not the user's id or name
    expect(options.authenticatorSelection).toMatchObject({ residentKey: 'required', requireResidentKey: true });
    expect(options.attestation).toBe('none');

    const device = new SoftAuthenticator({ origin: SITE_URL });
    const registered = await send('POST', '/auth/passkeys/', {
      token: user.token,
      body: { response: await device.create(options), name: 'Work laptop' },
    });
    expect(registered.status).toBe(201);
    const created = (await registered.json()) as { id: number; name: string; created: string };
    expect(created).toEqual({ id: expect.any(Number), name: 'Work laptop', created: expect.any(String) });

    const token = await accessTokenFor({ ...user, tokenVersion: 1 });
    const list = await send('GET', '/auth/passkeys/', { token });
    expect(await list.json()).toEqual([
      {
        id: created.id,
        name: 'Work laptop',
        created: created.created,
        last_used: null,
        device_type: 'singleDevice',
        backed_up: false,
      },
    ]);
    expect(await (await send('GET', '/auth/mfa/', { token })).json()).toEqual({
      totp: false,
      passkeys: 1,
      recovery_codes_left: 0,
    });
    // The next options exclude it, under the same user handle.
    const again = await creationOptions(token);
    expect(again.excludeCredentials?.map((c) => c.id)).toEqual([device.credentials[0]!.id]);
    expect(again.user.id).toBe(options.user.id);
  });

  it('takes several passkeys, named in order when no name is given', async () => {
    const holder = await withPasskey();
    const second = new SoftAuthenticator({ origin: SITE_URL });
    const registered = await send('POST', '/auth/passkeys/', {
      token: holder.token,
      body: { response: await second.create(await creationOptions(holder.token)) },
    });
    expect(await registered.json()).toMatchObject({ name: 'Passkey 2' });
    const token = await accessTokenFor({ ...holder, tokenVersion: holder.tokenVersion + 1 });
    expect((await (await send('GET', '/auth/passkeys/', { token })).json()) as unknown[]).toHaveLength(2);
  });

  it('uses each challenge once, for its user only, within 5 minutes', async () => {
    const user = await createUserWithToken();
    const other = await createUserWithToken();
    const device = new SoftAuthenticator({ origin: SITE_URL });
    const credential = await device.create(await creationOptions(user.token));
    const stolen = await send('POST', '/auth/passkeys/', { token: other.token, body: { response: credential } });
    expect(stolen.status).toBe(400);
    expect(await stolen.json()).toEqual({ response: [INVALID] });
    expect((await send('POST', '/auth/passkeys/', { token: user.token, body: { response: credential } })).status).toBe(
      201,
    );
    const token = await accessTokenFor({ ...user, tokenVersion: 1 });
    expect((await send('POST', '/auth/passkeys/', { token, body: { response: credential } })).status).toBe(400);

    vi.useFakeTimers({ toFake: ['Date'] });
    const late = await device.create(await creationOptions(token));
    vi.setSystemTime(Date.now() + 301_000);
    const fresh = await accessTokenFor({ ...user, tokenVersion: 1 });
    expect((await send('POST', '/auth/passkeys/', { token: fresh, body: { response: late } })).status).toBe(400);
  });

  it('refuses an answer made for another origin, and malformed answers with 400', async () => {
    const user = await createUserWithToken();
    const phished = await new SoftAuthenticator({ origin: 'https://evil.example' }).create(
      await creationOptions(user.token),
    );
    expect((await send('POST', '/auth/passkeys/', { token: user.token, body: { response: phished } })).status).toBe(
      400,
    );
    const good = await new SoftAuthenticator({ origin: SITE_URL }).create(await creationOptions(user.token));
    for (const response of [
      {},
      { ...good, type: 'password' },
      { ...good, response: { ...good.response, attestationObject: 'AAAA' } },
      { ...good, response: { ...good.response, clientDataJSON: 'not json!' } },
      { ...good, response: { ...good.response, clientDataJSON: 'bm90IGpzb24' } },
    ]) {
      const answer = await send('POST', '/auth/passkeys/', { token: user.token, body: { response } });
      expect(answer.status, JSON.stringify(response).slice(0, 80)).toBe(400);
    }
  });

  it('stops at 20 passkeys per user', async () => {
    const holder = await withPasskey();
    const device = new SoftAuthenticator({ origin: SITE_URL });
    const pending = await device.create(await creationOptions(holder.token));
    const rows = Array.from({ length: 19 }, (_, i) =>
      env.DB.prepare(
        "insert into passkeys (credential_id, user_id, user_handle, name, public_key, device_type, backed_up) values (?, ?, 'h', ?, 'k', 'singleDevice', 0)",
      ).bind(`filler-${holder.id}-${i}`, holder.id, `Filler ${i}`),
    );
    await env.DB.batch(rows);
    const full = await send('POST', '/auth/passkeys/options/', { token: holder.token });
    expect(full.status).toBe(400);
    expect(await full.json()).toEqual({ non_field_errors: ['You have 20 passkeys: remove one first.'] });
    // Options asked for before the limit was reached do not get past it either.
    const late = await send('POST', '/auth/passkeys/', { token: holder.token, body: { response: pending } });
    expect(late.status).toBe(400);
    expect((await (await send('GET', '/auth/passkeys/', { token: holder.token })).json()) as unknown[]).toHaveLength(
      20,
    );
  });

  it('needs a recent login', async () => {
    const user = await createUser();
    const stale = await accessTokenFor(user, {
      authentication: { amr: ['pwd'], authTime: Math.floor(Date.now() / 1000) - 601 },
    });
    const response = await send('POST', '/auth/passkeys/options/', { token: stale });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ code: 'reauth_required' });
    expect((await send('POST', '/auth/passkeys/', { token: stale, body: { response: {} } })).status).toBe(403);
  });

  it("ends the user's other refresh chains", async () => {
    const user = await createUserWithToken();
    const other = await accessTokenFor(user);
    const credential = await new SoftAuthenticator({ origin: SITE_URL }).create(await creationOptions(user.token));
    await send('POST', '/auth/passkeys/', { token: user.token, body: { response: credential } });
    expect((await postJson('/auth/refresh_token/', { token: other })).status).toBe(400);
  });
});

describe('logging in with a passkey alone', () => {
  it('needs no username: a token, the session cookie, amr hwk+user+mfa', async () => {
    const holder = await withPasskey();
    const { options, challenge_token } = await loginOptions();
    expect(options.allowCredentials ?? []).toEqual([]);
    expect(options.userVerification).toBe('required');
    expect(options.rpId).toBe('localhost');
    const response = await holder.device.get(options);
    const login = await postJson('/auth/passkey/', { challenge_token, response }, { Origin: SITE_URL });
    expect(login.status).toBe(200);
    expect(login.headers.getSetCookie()[0]).toMatch(/HttpOnly/i);
    const { token } = (await login.json()) as { token: string };
    expect(decodeJwt(token).payload).toMatchObject({ user_id: holder.id, amr: ['hwk', 'user', 'mfa'] });
    const [passkey] = (await (await send('GET', '/auth/passkeys/', { token })).json()) as { last_used: string }[];
    expect(passkey!.last_used).not.toBeNull();

    const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
    const refreshed = await postJson('/auth/session/refresh/', {}, { Cookie: cookie, Origin: SITE_URL });
    expect(decodeJwt(((await refreshed.json()) as { token: string }).token).payload.amr).toEqual([
      'hwk',
      'user',
      'mfa',
    ]);
  });

  it('refuses a passkey that did not verify the user', async () => {
    const device = new SoftAuthenticator({ origin: SITE_URL, userVerification: false });
    const holder = await withPasskey({}, device);
    const { options, challenge_token } = await loginOptions();
    const login = await postJson('/auth/passkey/', { challenge_token, response: await holder.device.get(options) });
    expect(login.status).toBe(400);
    expect(await login.json()).toEqual({ non_field_errors: [INVALID] });
  });

  it('uses a challenge once, with its own challenge_token, and refuses a sign count that went back', async () => {
    const holder = await withPasskey();
    const first = await loginOptions();
    const response = await holder.device.get(first.options);
    expect((await postJson('/auth/passkey/', { challenge_token: first.challenge_token, response })).status).toBe(200);
    expect((await postJson('/auth/passkey/', { challenge_token: first.challenge_token, response })).status).toBe(400);

    const second = await loginOptions();
    const third = await loginOptions();
    const mismatched = await holder.device.get(second.options);
    expect(
      (await postJson('/auth/passkey/', { challenge_token: third.challenge_token, response: mismatched })).status,
    ).toBe(400);

    const fourth = await loginOptions();
    const relabelled = await holder.device.get(fourth.options);
    relabelled.response.userHandle = 'c29tZW9uZSBlbHNl';
    expect(
      (await postJson('/auth/passkey/', { challenge_token: fourth.challenge_token, response: relabelled })).status,
    ).toBe(400);

    const cloned = await holder.device.get(third.options, { counter: 1 });
    expect(
      (await postJson('/auth/passkey/', { challenge_token: third.challenge_token, response: cloned })).status,
    ).toBe(400);
  });

  it('refuses an unknown passkey, a deactivated user, an expired challenge and a foreign page', async () => {
    const stranger = new SoftAuthenticator({ origin: SITE_URL });
    await stranger.create({
      ...(await creationOptions((await createUserWithToken()).token)),
    });
    const unknown = await loginOptions();
    const answer = await postJson('/auth/passkey/', {
      challenge_token: unknown.challenge_token,
      response: await stranger.get(unknown.options),
    });
    expect(answer.status).toBe(400);

    const holder = await withPasskey();
    await db().update(users).set({ isActive: false }).where(eq(users.id, holder.id));
    const disabled = await loginOptions();
    const refused = await postJson('/auth/passkey/', {
      challenge_token: disabled.challenge_token,
      response: await holder.device.get(disabled.options),
    });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ non_field_errors: [INVALID] });

    const active = await withPasskey();
    vi.useFakeTimers({ toFake: ['Date'] });
    const expiring = await loginOptions();
    vi.setSystemTime(Date.now() + 301_000);
    const late = await postJson('/auth/passkey/', {
      challenge_token: expiring.challenge_token,
      response: await active.device.get(expiring.options),
    });
    expect(late.status).toBe(400);
    vi.useRealTimers();

    const foreign = await loginOptions();
    const fromEvil = await postJson(
      '/auth/passkey/',
      { challenge_token: foreign.challenge_token, response: await active.device.get(foreign.options) },
      { Origin: 'https://evil.example' },
    );
    expect(fromEvil.status).toBe(403);
  });
});

describe('a passkey as the second step of a password login', () => {
  async function passwordStep(user: TestUser) {
    const response = await postJson('/api-auth/', { username: user.username, password: user.password });
    return (await response.json()) as { mfa_required: true; mfa_token: string; methods: string[] };
  }
  const webauthnOptions = async (mfaToken: string) => postJson('/auth/mfa/webauthn/options/', { mfa_token: mfaToken });

  it('answers mfa_required with webauthn, then the token for an assertion: amr pwd+hwk+mfa', async () => {
    const holder = await withPasskey();
    const step = await passwordStep(holder);
    expect(step).toMatchObject({ mfa_required: true, methods: ['webauthn'] });
    const optionsResponse = await webauthnOptions(step.mfa_token);
    expect(optionsResponse.status).toBe(200);
    const options = (await optionsResponse.json()) as PublicKeyCredentialRequestOptionsJSON;
    expect(options.allowCredentials?.map((c) => c.id)).toEqual([holder.device.credentials[0]!.id]);
    const verified = await postJson('/auth/mfa/verify/', {
      mfa_token: step.mfa_token,
      webauthn: await holder.device.get(options),
    });
    expect(verified.status).toBe(200);
    const { token } = (await verified.json()) as { token: string };
    expect(decodeJwt(token).payload.amr).toEqual(['pwd', 'hwk', 'mfa']);
  });

  it("refuses another user's passkey and a challenge of another login", async () => {
    const alice = await withPasskey();
    const mallory = await withPasskey();
    const step = await passwordStep(alice);
    const malloryStep = await passwordStep(mallory);
    const malloryOptions = (await (
      await webauthnOptions(malloryStep.mfa_token)
    ).json()) as PublicKeyCredentialRequestOptionsJSON;
    const foreign = await postJson('/auth/mfa/verify/', {
      mfa_token: step.mfa_token,
      webauthn: await mallory.device.get(malloryOptions),
    });
    expect(foreign.status).toBe(400);
    expect(await foreign.json()).toEqual({ webauthn: [INVALID] });

    const otherLogin = await passwordStep(alice);
    const otherOptions = (await (
      await webauthnOptions(otherLogin.mfa_token)
    ).json()) as PublicKeyCredentialRequestOptionsJSON;
    const crossed = await postJson('/auth/mfa/verify/', {
      mfa_token: step.mfa_token,
      webauthn: await alice.device.get(otherOptions),
    });
    expect(crossed.status).toBe(400);
  });

  it('needs exactly one of code and webauthn, and a live mfa_token for options', async () => {
    const holder = await withPasskey();
    const step = await passwordStep(holder);
    expect((await postJson('/auth/mfa/verify/', { mfa_token: step.mfa_token })).status).toBe(400);
    const options = (await (await webauthnOptions(step.mfa_token)).json()) as PublicKeyCredentialRequestOptionsJSON;
    const both = await postJson('/auth/mfa/verify/', {
      mfa_token: step.mfa_token,
      code: '123456',
      webauthn: await holder.device.get(options),
    });
    expect(both.status).toBe(400);
    expect((await webauthnOptions(holder.token)).status).toBe(400);
    expect((await postJson('/auth/mfa/webauthn/options/', {})).status).toBe(401);
    // An mfa_token that used up its tries gets no options.
    for (let i = 0; i < 5; i++) await postJson('/auth/mfa/verify/', { mfa_token: step.mfa_token, code: '000000' });
    expect((await webauthnOptions(step.mfa_token)).status).toBe(400);
  });
});

describe('re-authenticating with a passkey', () => {
  it('gives a fresh auth_time', async () => {
    const holder = await withPasskey();
    const stale = await accessTokenFor(holder, {
      authentication: { amr: ['hwk', 'user', 'mfa'], authTime: Math.floor(Date.now() / 1000) - 3600 },
    });
    const optionsResponse = await send('POST', '/auth/mfa/webauthn/options/', { token: stale, body: {} });
    expect(optionsResponse.status).toBe(200);
    const options = (await optionsResponse.json()) as PublicKeyCredentialRequestOptionsJSON;
    const renewed = await send('POST', '/auth/reauth/', {
      token: stale,
      body: { webauthn: await holder.device.get(options) },
    });
    expect(renewed.status).toBe(200);
    const { payload } = decodeJwt(((await renewed.json()) as { token: string }).token);
    expect(payload.amr).toEqual(['hwk', 'user', 'mfa']);
    expect(payload.auth_time).toBeGreaterThan(Math.floor(Date.now() / 1000) - 5);
  });

  it("refuses a login step's challenge for re-authentication", async () => {
    const holder = await withPasskey();
    const step = (await (
      await postJson('/api-auth/', { username: holder.username, password: holder.password })
    ).json()) as { mfa_token: string };
    const options = (await (
      await postJson('/auth/mfa/webauthn/options/', { mfa_token: step.mfa_token })
    ).json()) as PublicKeyCredentialRequestOptionsJSON;
    const renewed = await send('POST', '/auth/reauth/', {
      token: holder.token,
      body: { webauthn: await holder.device.get(options) },
    });
    expect(renewed.status).toBe(400);
  });
});

describe('renaming and removing passkeys', () => {
  it("renames one's own passkey only", async () => {
    const holder = await withPasskey();
    const other = await createUserWithToken();
    const path = `/auth/passkeys/${holder.passkeyId}/`;
    const renamed = await send('PATCH', path, { token: holder.token, body: { name: '  Phone  ' } });
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toMatchObject({ id: holder.passkeyId, name: 'Phone' });
    expect((await send('PATCH', path, { token: other.token, body: { name: 'Mine now' } })).status).toBe(404);
    for (const body of [{ name: '' }, { name: '   ' }, {}, { name: 'x'.repeat(65) }]) {
      expect((await send('PATCH', path, { token: holder.token, body })).status, JSON.stringify(body)).toBe(400);
    }
  });

  it('removes one (recent login, own only): the login is the password alone again', async () => {
    const holder = await withPasskey();
    const other = await createUserWithToken();
    const path = `/auth/passkeys/${holder.passkeyId}/`;
    expect((await send('DELETE', path, { token: other.token })).status).toBe(404);
    const stale = await accessTokenFor(holder, {
      authentication: { amr: ['pwd'], authTime: Math.floor(Date.now() / 1000) - 601 },
    });
    expect((await send('DELETE', path, { token: stale })).status).toBe(403);
    const chain = await accessTokenFor(holder);
    expect((await send('DELETE', path, { token: holder.token })).status).toBe(204);
    expect((await send('DELETE', path, { token: holder.token })).status).toBe(404);
    const login = await postJson('/api-auth/', { username: holder.username, password: holder.password });
    expect(await login.json()).toEqual({ token: expect.any(String) });
    expect((await postJson('/auth/refresh_token/', { token: chain })).status).toBe(400);
    // A removed passkey logs in no more.
    const { options, challenge_token } = await loginOptions();
    expect(
      (await postJson('/auth/passkey/', { challenge_token, response: await holder.device.get(options) })).status,
    ).toBe(400);
  });

  it('are removed with the other factors by staff', async () => {
    const holder = await withPasskey();
    const staff = await createUserWithToken({ isStaff: true });
    expect((await send('DELETE', `/users/${holder.id}/mfa/`, { token: staff.token })).status).toBe(204);
    const login = await postJson('/api-auth/', { username: holder.username, password: holder.password });
    expect(await login.json()).toEqual({ token: expect.any(String) });
    const { options, challenge_token } = await loginOptions();
    expect(
      (await postJson('/auth/passkey/', { challenge_token, response: await holder.device.get(options) })).status,
    ).toBe(400);
  });
});

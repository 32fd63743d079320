/**
 * Passkeys: a user registers several, lists, renames and removes them (/auth/passkeys/), and
 * logs in with one alone, no username typed (/auth/passkey/). The second step of a password
 * login and re-authentication take passkeys too (src/routes/mfa.ts).
 */
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { Context } from 'hono';
import * as z from 'zod';
import { auditStatement } from '../audit/record';
import { checkPasskeyAssertion, INVALID_PASSKEY } from '../auth/passkey-assertion';
import { requireRecentLogin } from '../auth/recent-login';
import {
  authenticationResponse,
  CHALLENGE_LIFETIME_SECONDS,
  challengeOf,
  creationOptions,
  MAX_PASSKEYS,
  newUserHandle,
  registrationResponse,
  relyingParty,
  requestOptions,
  verifyRegistration,
} from '../auth/webauthn';
import { afterFactorChange } from '../db/mfa';
import {
  deletePasskey,
  findPasskeys,
  insertPasskey,
  renamePasskey,
  storeChallenge,
  takeChallenge,
} from '../db/passkeys';
import { findTokenUser } from '../db/users';
import { fieldErrors, nonFieldError, notFound } from '../drf/errors';
import { charField } from '../drf/fields';
import type { AppEnv } from '../env';
import { defineRoute } from '../http/route';
import { checkOrigin } from '../http/trusted-origin';
import { noticeAfterResponse } from '../mail/notices';
import { activeAccount } from './account';
import { recordLoginAfterResponse } from './credentials';
import { startBrowserSession } from './sessions';

const nameField = () => charField({ maxLength: 64 }).refine((name) => name.length > 0, 'This field may not be blank.');
const registerBody = z.object({ response: registrationResponse, name: nameField().optional() });
const renameBody = z.object({ name: nameField() });
const loginBody = z.object({ challenge_token: charField({ maxLength: 128 }), response: authenticationResponse });

interface ListedPasskey {
  id: number;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  deviceType: string;
  backedUp: boolean;
}

const serializePasskey = (passkey: ListedPasskey) => ({
  id: passkey.id,
  name: passkey.name,
  created: passkey.createdAt.toISOString(),
  last_used: passkey.lastUsedAt?.toISOString() ?? null,
  device_type: passkey.deviceType,
  backed_up: passkey.backedUp,
});

/** The passwordless login's end: the same answer as a session login (token and cookie). */
async function logInWithPasskey(c: Context<AppEnv>, body: z.output<typeof loginBody>) {
  checkOrigin(c, { required: false });
  const db = c.get('db');
  const now = new Date();
  const response = body.response as AuthenticationResponseJSON;
  if (challengeOf(response) !== body.challenge_token) throw nonFieldError(INVALID_PASSKEY);
  const checked = await checkPasskeyAssertion(db, c.get('settings'), response, {
    binding: { purpose: 'login' },
    requireUserVerification: true,
    now,
  });
  const user = checked && (await findTokenUser(db, checked.passkey.userId));
  if (!user || !user.isActive) throw nonFieldError(INVALID_PASSKEY);
  const amr = ['hwk', 'user', 'mfa'] as const;
  await recordLoginAfterResponse(c, user, amr);
  return startBrowserSession(c, user, { amr, now });
}

export const passkeyRoutes = [
  defineRoute({
    method: 'get',
    path: '/auth/passkeys/',
    tag: 'passkeys',
    summary: "The caller's passkeys, oldest first",
    auth: 'required',
    responses: { 200: 'PasskeyList' },
    handler: async (c, { user }) => {
      await activeAccount(c, user);
      const passkeys = await findPasskeys(c.get('db'), user.id, MAX_PASSKEYS);
      return c.json(passkeys.map(serializePasskey));
    },
  }),
  defineRoute({
    method: 'post',
    path: '/auth/passkeys/options/',
    tag: 'passkeys',
    summary: 'Options for navigator.credentials.create(): the first step of adding a passkey',
    description: `The challenge lasts ${CHALLENGE_LIFETIME_SECONDS / 60} minutes and works once. At most ${MAX_PASSKEYS} passkeys per user. Needs a recent login.`,
    auth: 'required',
    rateLimit: 'passkey',
    responses: { 200: 'WebAuthnOptions', 403: 'Detail' },
    handler: async (c, { user }) => {
      const settings = c.get('settings');
      requireRecentLogin(user, settings);
      const account = await activeAccount(c, user);
      const db = c.get('db');
      const existing = await findPasskeys(db, user.id, MAX_PASSKEYS);
      if (existing.length >= MAX_PASSKEYS) throw nonFieldError(`You have ${MAX_PASSKEYS} passkeys: remove one first.`);
      const userHandle = existing[0]?.userHandle ?? newUserHandle();
      const options = await creationOptions(
        relyingParty(settings),
        { username: account.username, userHandle },
        existing,
      );
      await storeChallenge(
        db,
        options.challenge,
        { purpose: 'register', userId: user.id },
        {
          now: new Date(),
          lifetimeSeconds: CHALLENGE_LIFETIME_SECONDS,
          userHandle,
        },
      );
      return c.json(options);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/auth/passkeys/',
    tag: 'passkeys',
    summary: "Add a passkey: the browser's answer to the creation options",
    description:
      'Body `{"response": <navigator.credentials.create() as JSON>, "name"?}`. From now on a password login needs a second step. Ends the user\'s other sessions and refresh chains. Needs a recent login.',
    auth: 'required',
    rateLimit: 'passkey',
    body: registerBody,
    responses: { 201: 'PasskeyCreated', 403: 'Detail' },
    handler: async (c, { user, body }) => {
      const settings = c.get('settings');
      requireRecentLogin(user, settings);
      await activeAccount(c, user);
      const input = await body();
      const response = input.response as RegistrationResponseJSON;
      const db = c.get('db');
      const now = new Date();
      const challenge = challengeOf(response);
      const taken =
        challenge === undefined
          ? undefined
          : await takeChallenge(db, challenge, { purpose: 'register', userId: user.id }, now);
      const credential = taken && (await verifyRegistration(relyingParty(settings), response, challenge!));
      if (!credential || !taken.userHandle) throw fieldErrors({ response: [INVALID_PASSKEY] });
      const existing = await findPasskeys(db, user.id, MAX_PASSKEYS);
      if (existing.length >= MAX_PASSKEYS) throw nonFieldError(`You have ${MAX_PASSKEYS} passkeys: remove one first.`);
      const name = input.name ?? `Passkey ${existing.length + 1}`;
      const [inserted] = await db.batch([
        insertPasskey(db, {
          ...credential,
          userId: user.id,
          userHandle: taken.userHandle,
          name,
          createdAt: now,
        }),
        auditStatement(c, { kind: 'passkey.added', actor: user, subject: user, details: { name } }, 'ifChanged'),
        ...afterFactorChange(db, user.id, user.sessionId),
      ]);
      const passkey = inserted[0];
      if (!passkey) throw fieldErrors({ response: ['This passkey is already registered.'] });
      await noticeAfterResponse(c, user.id, 'factor.added', `A passkey ("${passkey.name}")`);
      return c.json({ id: passkey.id, name: passkey.name, created: passkey.createdAt.toISOString() }, 201);
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/auth/passkeys/{id}/',
    tag: 'passkeys',
    summary: 'Rename a passkey',
    auth: 'required',
    body: renameBody,
    responses: { 200: 'Passkey' },
    handler: async (c, { user, id: pathId, body }) => {
      const id = pathId();
      await activeAccount(c, user);
      const { name } = await body();
      const [renamed] = await renamePasskey(c.get('db'), user.id, id, name);
      if (!renamed) throw notFound();
      return c.json(serializePasskey(renamed));
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/auth/passkeys/{id}/',
    tag: 'passkeys',
    summary: 'Remove a passkey',
    description: "Ends the user's other sessions and refresh chains. Needs a recent login.",
    auth: 'required',
    responses: { 204: null, 403: 'Detail' },
    handler: async (c, { user, id: pathId }) => {
      const id = pathId();
      requireRecentLogin(user, c.get('settings'));
      await activeAccount(c, user);
      const db = c.get('db');
      const [deleted] = await db.batch([
        deletePasskey(db, user.id, id),
        auditStatement(
          c,
          { kind: 'passkey.removed', actor: user, subject: user, details: { passkey: id } },
          'ifChanged',
        ),
        ...afterFactorChange(db, user.id, user.sessionId),
      ]);
      if (deleted.length === 0) throw notFound();
      await noticeAfterResponse(c, user.id, 'factor.removed', 'A passkey');
      return c.body(null, 204);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/auth/passkey/options/',
    tag: 'passkeys',
    summary: 'Options for navigator.credentials.get() to log in with a passkey alone (no username)',
    description: `\`challenge_token\` goes back with the answer to POST /auth/passkey/; it lasts ${CHALLENGE_LIFETIME_SECONDS / 60} minutes and works once.`,
    auth: 'none',
    rateLimit: 'passkey',
    responses: { 200: 'PasskeyLoginOptions' },
    handler: async (c) => {
      const options = await requestOptions(relyingParty(c.get('settings')), [], 'required');
      await storeChallenge(
        c.get('db'),
        options.challenge,
        { purpose: 'login' },
        {
          now: new Date(),
          lifetimeSeconds: CHALLENGE_LIFETIME_SECONDS,
        },
      );
      return c.json({ options, challenge_token: options.challenge });
    },
  }),
  defineRoute({
    method: 'post',
    path: '/auth/passkey/',
    tag: 'passkeys',
    summary: 'Log in with a passkey: an access token and the session cookie',
    description:
      'Body `{"challenge_token", "response": <navigator.credentials.get() as JSON>}`. The passkey must verify the user (PIN, biometrics): `amr` is `["hwk", "user", "mfa"]`. As POST /auth/session/, a page of an untrusted origin is refused; with JWT_ALLOW_REFRESH false, no cookie.',
    auth: 'none',
    rateLimit: 'passkey',
    body: loginBody,
    responses: { 200: 'Token', 403: 'Detail' },
    headers: { 200: { 'Set-Cookie': 'The session cookie (see POST /auth/session/).' } },
    handler: async (c, { body }) => logInWithPasskey(c, await body()),
  }),
];

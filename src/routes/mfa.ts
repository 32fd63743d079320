/**
 * Second factors: the authenticator app (enrol, confirm, disable), recovery codes, the login's
 * second step, re-authentication, and staff removing a user's factors (account recovery).
 */
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { and, eq, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import * as z from 'zod';
import { auditAfterResponse, auditStatement } from '../audit/record';
import { checkPasskeyAssertion, INVALID_PASSKEY } from '../auth/passkey-assertion';
import { staffNowCondition } from '../auth/permissions';
import { UnsupportedPasswordHash, verifyPassword } from '../auth/passwords';
import { requireRecentLogin } from '../auth/recent-login';
import { seal, open } from '../auth/secret-box';
import { checkSecondFactorCode, hashRecoveryCode, newRecoveryCodes, TOTP_SEAL_PURPOSE } from '../auth/second-factor';
import { matchTotp, newTotpSecret, otpauthUri } from '../auth/totp';
import { issueAccessToken, TokenError, verifyMfaToken, type AuthMethod } from '../auth/tokens';
import {
  authenticationResponse,
  CHALLENGE_LIFETIME_SECONDS,
  MAX_PASSKEYS,
  relyingParty,
  requestOptions,
} from '../auth/webauthn';
import type { Settings } from '../config';
import {
  confirmTotp,
  countRecoveryCodes,
  deleteTotp,
  afterFactorChange,
  findTotp,
  finishMfaLogin,
  isMfaLoginOpen,
  replaceRecoveryCodes,
  storePendingTotp,
  tryMfaLogin,
} from '../db/mfa';
import { countPasskeys, findPasskeys, storeChallenge, type ChallengeBinding } from '../db/passkeys';
import { passkeys, recoveryCodes, totpFactors, users } from '../db/schema';
import { renewSessionAuthTime } from '../db/sessions';
import { findPasswordAndEmail, findTokenUser } from '../db/users';
import { fieldErrors, nonFieldError, notAuthenticated, notFound } from '../drf/errors';
import { charField, passwordField } from '../drf/fields';
import type { AppEnv } from '../env';
import { throttle } from '../http/rate-limit';
import { defineRoute } from '../http/route';
import { MAX_TOKEN_LENGTH } from '../limits';
import { noticeAfterResponse } from '../mail/notices';
import { activeAccount } from './account';
import { recordLoginAfterResponse } from './credentials';
import { startBrowserSession } from './sessions';
import { staffRefusal } from './users';

const codeField = () => charField({ maxLength: 64 });
const INVALID_CODE = 'The code is not valid.';

const codeBody = z.object({ code: codeField() });
const mfaTokenField = () => charField({ maxLength: MAX_TOKEN_LENGTH });
const oneOf =
  (...names: string[]) =>
  (body: Record<string, unknown>) =>
    names.filter((name) => body[name] !== undefined).length === 1;
const verifyBody = z
  .object({ mfa_token: mfaTokenField(), code: codeField().optional(), webauthn: authenticationResponse.optional() })
  .refine(oneOf('code', 'webauthn'), { error: 'Send either "code" or "webauthn".', path: ['non_field_errors'] });
const reauthBody = z
  .object({
    password: passwordField().optional(),
    code: codeField().optional(),
    webauthn: authenticationResponse.optional(),
  })
  .refine(oneOf('password', 'code', 'webauthn'), {
    error: 'Send one of "password", "code" or "webauthn".',
    path: ['non_field_errors'],
  });
const webauthnOptionsBody = z.object({ mfa_token: mfaTokenField().optional() });

/** What a second factor adds to the password: RFC 8176's `otp` or `hwk` (a passkey), and `mfa`. */
const withSecondFactor = (first: readonly AuthMethod[], factor: 'otp' | 'hwk'): AuthMethod[] => [
  ...new Set<AuthMethod>([...first, factor, 'mfa']),
];

/** A wrong second step: its `login.failed` event after the response, and `error` to throw. */
async function secondStepFailed(c: Context<AppEnv>, user: { id: number; username: string }, error: Error) {
  await auditAfterResponse(c, { kind: 'login.failed', actor: null, subject: user, details: { step: 'second_factor' } });
  return error;
}

/** Ten new recovery codes for the user, their hashes stored in `statements`' batch. */
async function recoveryCodeRows(c: Context<AppEnv>, userId: number) {
  const codes = newRecoveryCodes();
  const hashes = await Promise.all(codes.map(hashRecoveryCode));
  return { codes, statements: replaceRecoveryCodes(c.get('db'), userId, hashes) };
}

const LOGIN_OVER = 'This login has used up its tries or has ended: log in again.';

/** The claims of an mfa_token; 400 in DRF's shape for any other token. */
const mfaClaims = (token: string, settings: Settings) =>
  verifyMfaToken(token, settings).catch((error: unknown) => {
    throw error instanceof TokenError ? nonFieldError(error.message, error) : error;
  });

export const mfaRoutes = [
  defineRoute({
    method: 'get',
    path: '/auth/mfa/',
    tag: 'mfa',
    summary: "The caller's second factors",
    auth: 'required',
    responses: { 200: 'MfaStatus' },
    handler: async (c, { user }) => {
      await activeAccount(c, user);
      const db = c.get('db');
      const [factor, left, passkeys] = await Promise.all([
        findTotp(db, user.id),
        countRecoveryCodes(db, user.id),
        countPasskeys(db, user.id),
      ]);
      return c.json({ totp: Boolean(factor?.secret), passkeys, recovery_codes_left: left });
    },
  }),
  defineRoute({
    method: 'post',
    path: '/auth/mfa/totp/',
    tag: 'mfa',
    summary: 'Start enrolling an authenticator app: a new secret, shown once',
    description:
      'Nothing changes until POST /auth/mfa/totp/confirm/ with a first code; a new start replaces a pending secret. Needs a recent login (403 `reauth_required`).',
    auth: 'required',
    responses: { 200: 'TotpEnrolment', 403: 'Detail' },
    handler: async (c, { user }) => {
      const settings = c.get('settings');
      requireRecentLogin(user, settings);
      await activeAccount(c, user);
      const secret = newTotpSecret();
      await storePendingTotp(c.get('db'), user.id, await seal(secret, TOTP_SEAL_PURPOSE, settings));
      const issuer = new URL(settings.siteUrl).host;
      return c.json({ secret, otpauth_url: otpauthUri(secret, issuer, user.username) });
    },
  }),
  defineRoute({
    method: 'post',
    path: '/auth/mfa/totp/confirm/',
    tag: 'mfa',
    summary: 'Confirm the authenticator app with its first code: ten recovery codes, shown once',
    description:
      "From now on every login needs a code. Ends the user's other sessions and refresh chains (a bearer token's own chain too; a browser session keeps its own). Needs a recent login.",
    auth: 'required',
    rateLimit: 'mfa',
    body: codeBody,
    responses: { 200: 'RecoveryCodes', 403: 'Detail' },
    handler: async (c, { user, body }) => {
      const settings = c.get('settings');
      requireRecentLogin(user, settings);
      await activeAccount(c, user);
      const { code } = await body();
      const db = c.get('db');
      const factor = await findTotp(db, user.id);
      if (!factor?.pendingSecret) throw nonFieldError('Start with POST /auth/mfa/totp/: no enrolment is pending.');
      const secret = await open(factor.pendingSecret, TOTP_SEAL_PURPOSE, settings);
      const step = secret === undefined ? undefined : await matchTotp(secret, code.trim(), 0, new Date());
      if (step === undefined) throw fieldErrors({ code: [INVALID_CODE] });
      const { codes, statements } = await recoveryCodeRows(c, user.id);
      const [confirmed] = await db.batch([
        confirmTotp(db, user.id, factor.pendingSecret, step, new Date()),
        auditStatement(c, { kind: 'totp.added', actor: user, subject: user }, 'ifChanged'),
        ...statements,
        ...afterFactorChange(db, user.id, user.sessionId),
      ]);
      if (confirmed.length === 0) throw nonFieldError('The enrolment was replaced: start again.');
      await noticeAfterResponse(c, user.id, 'factor.added', 'An authenticator app');
      return c.json({ recovery_codes: codes });
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/auth/mfa/totp/',
    tag: 'mfa',
    summary: 'Remove the authenticator app and the recovery codes',
    description: "Ends the user's other sessions and refresh chains. Needs a recent login.",
    auth: 'required',
    responses: { 204: null, 403: 'Detail', 404: 'Detail' },
    handler: async (c, { user }) => {
      requireRecentLogin(user, c.get('settings'));
      await activeAccount(c, user);
      const db = c.get('db');
      const [deleted] = await db.batch([
        deleteTotp(db, user.id),
        auditStatement(c, { kind: 'totp.removed', actor: user, subject: user }, 'ifChanged'),
        db.delete(recoveryCodes).where(eq(recoveryCodes.userId, user.id)),
        ...afterFactorChange(db, user.id, user.sessionId),
      ]);
      if (deleted.length === 0) throw notFound();
      await noticeAfterResponse(c, user.id, 'factor.removed', 'The authenticator app');
      return c.body(null, 204);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/auth/mfa/recovery-codes/',
    tag: 'mfa',
    summary: 'Ten new recovery codes; the old ones stop working',
    description: 'Only with an authenticator app enrolled. Needs a recent login.',
    auth: 'required',
    responses: { 200: 'RecoveryCodes', 403: 'Detail' },
    handler: async (c, { user }) => {
      requireRecentLogin(user, c.get('settings'));
      await activeAccount(c, user);
      const db = c.get('db');
      const factor = await findTotp(db, user.id);
      if (!factor?.secret) throw nonFieldError('Enrol an authenticator app first.');
      const { codes, statements } = await recoveryCodeRows(c, user.id);
      await db.batch([
        ...statements,
        auditStatement(c, { kind: 'recovery_codes.regenerated', actor: user, subject: user }),
      ]);
      return c.json({ recovery_codes: codes });
    },
  }),
  defineRoute({
    method: 'post',
    path: '/auth/mfa/verify/',
    tag: 'mfa',
    summary: "A login's second step: the mfa_token and a code (authenticator app or recovery code) or a passkey",
    description:
      'Answers what the login would have answered: the token, and for a session login (POST /auth/session/) the cookie too. Body `{"mfa_token", "code"}` or `{"mfa_token", "webauthn"}` (an assertion for POST /auth/mfa/webauthn/options/). An mfa_token lasts 5 minutes and allows 5 tries; wrong codes also count against the user (10 per 15 minutes, then 429).',
    auth: 'none',
    rateLimit: 'mfa',
    body: verifyBody,
    responses: { 200: 'Token', 429: 'Detail' },
    headers: { 200: { 'Set-Cookie': 'The session cookie, when the login was a session login.' } },
    handler: async (c, { body }) => {
      const settings = c.get('settings');
      const { mfa_token: mfaToken, code, webauthn } = await body();
      const claims = await mfaClaims(mfaToken, settings);
      const db = c.get('db');
      const now = new Date();
      const [tried] = await tryMfaLogin(db, claims.jti, claims.userId, now);
      if (!tried) throw nonFieldError(LOGIN_OVER);
      const user = await findTokenUser(db, claims.userId);
      if (!user || !user.isActive || user.tokenVersion !== claims.tokenVersion) {
        throw nonFieldError('Unable to log in with provided credentials.');
      }
      let factor: 'otp' | 'hwk';
      if (webauthn !== undefined) {
        const checked = await checkPasskeyAssertion(db, settings, webauthn as AuthenticationResponseJSON, {
          binding: { purpose: 'mfa', userId: user.id, mfaJti: claims.jti },
          owner: user.id,
          requireUserVerification: false,
          now,
        });
        if (!checked) throw await secondStepFailed(c, user, fieldErrors({ webauthn: [INVALID_PASSKEY] }));
        factor = 'hwk';
      } else {
        if (!(await checkSecondFactorCode(db, settings, user.id, code!, now)))
          throw await secondStepFailed(c, user, fieldErrors({ code: [INVALID_CODE] }));
        factor = 'otp';
      }
      if ((await finishMfaLogin(db, claims.jti)).length === 0) throw nonFieldError(LOGIN_OVER);
      const amr = withSecondFactor(claims.amr, factor);
      await recordLoginAfterResponse(c, user, amr);
      if (claims.session) return startBrowserSession(c, user, { amr, now });
      const authentication = { amr, authTime: Math.floor(now.getTime() / 1000) };
      return c.json({ token: await issueAccessToken(user, settings, { now, authentication }) });
    },
  }),
  defineRoute({
    method: 'post',
    path: '/auth/mfa/webauthn/options/',
    tag: 'mfa',
    summary: 'Options for navigator.credentials.get() with one of your passkeys',
    description:
      'With `{"mfa_token"}`: for the second step of that login (POST /auth/mfa/verify/ with `webauthn`). With an empty body and an access token: for POST /auth/reauth/ with `webauthn`. The challenge lasts 5 minutes and works once.',
    auth: 'optional',
    rateLimit: 'mfa',
    body: webauthnOptionsBody,
    responses: { 200: 'WebAuthnOptions' },
    handler: async (c, { user, body }) => {
      const { mfa_token: mfaToken } = await body();
      const db = c.get('db');
      const now = new Date();
      let binding: ChallengeBinding;
      if (mfaToken !== undefined) {
        const claims = await mfaClaims(mfaToken, c.get('settings'));
        if (!(await isMfaLoginOpen(db, claims.jti, claims.userId, now))) throw nonFieldError(LOGIN_OVER);
        binding = { purpose: 'mfa', userId: claims.userId, mfaJti: claims.jti };
      } else {
        if (!user) throw notAuthenticated();
        await activeAccount(c, user);
        binding = { purpose: 'reauth', userId: user.id };
      }
      const passkeys = await findPasskeys(db, binding.userId!, MAX_PASSKEYS);
      if (passkeys.length === 0) throw nonFieldError('There is no passkey on this account.');
      const options = await requestOptions(relyingParty(c.get('settings')), passkeys, 'preferred');
      await storeChallenge(db, options.challenge, binding, { now, lifetimeSeconds: CHALLENGE_LIFETIME_SECONDS });
      return c.json(options);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/auth/reauth/',
    tag: 'mfa',
    summary: 'Prove who you are again: a token with a fresh auth_time',
    description:
      'Body `{"password"}`, `{"code"}` (the authenticator app or a recovery code), or `{"webauthn"}` (an assertion for POST /auth/mfa/webauthn/options/ sent with an empty body). The new token keeps the login\'s `amr`; for a browser session\'s token, the session keeps the new time too.',
    auth: 'required',
    rateLimit: 'reauth',
    body: reauthBody,
    responses: { 200: 'Token', 429: 'Detail' },
    handler: async (c, { user, body }) => {
      const account = await activeAccount(c, user);
      const { password, code, webauthn } = await body();
      const db = c.get('db');
      const settings = c.get('settings');
      await throttle(c, 'RATE_LIMIT_USERNAME', `reauth:${user.id}`);
      let proved = false;
      if (password !== undefined) {
        const stored = await findPasswordAndEmail(db, user.id);
        proved = await verifyPassword(password, stored!.password).catch((error: unknown) => {
          if (error instanceof UnsupportedPasswordHash) return false;
          throw error;
        });
        if (!proved) throw fieldErrors({ password: ['The password is not correct.'] });
      } else if (code !== undefined) {
        proved = await checkSecondFactorCode(db, settings, user.id, code);
        if (!proved) throw fieldErrors({ code: [INVALID_CODE] });
      } else {
        const checked = await checkPasskeyAssertion(db, settings, webauthn as AuthenticationResponseJSON, {
          binding: { purpose: 'reauth', userId: user.id },
          owner: user.id,
          requireUserVerification: false,
          now: new Date(),
        });
        if (!checked) throw fieldErrors({ webauthn: [INVALID_PASSKEY] });
      }
      const now = new Date();
      if (user.sessionId !== undefined) await renewSessionAuthTime(db, user.sessionId, user.id, now);
      const token = await issueAccessToken(account, settings, {
        now,
        sessionId: user.sessionId,
        authentication: { amr: user.authentication.amr, authTime: Math.floor(now.getTime() / 1000) },
      });
      return c.json({ token });
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/users/{id}/mfa/',
    tag: 'users',
    summary: "Remove a user's second factors (staff): account recovery for a lost authenticator",
    description:
      "Deletes the user's authenticator app and recovery codes and ends every session and refresh chain of theirs; the next login is by password alone. 403 for anyone but staff.",
    auth: 'required',
    responses: { 204: null, 403: 'Detail' },
    handler: async (c, { user, id: pathId }) => {
      const id = pathId();
      const db = c.get('db');
      const staffNow = staffNowCondition(user);
      const [, , , ended] = await db.batch([
        db.delete(totpFactors).where(and(eq(totpFactors.userId, id), staffNow)),
        db.delete(recoveryCodes).where(and(eq(recoveryCodes.userId, id), staffNow)),
        db.delete(passkeys).where(and(eq(passkeys.userId, id), staffNow)),
        db
          .update(users)
          .set({ tokenVersion: sql`${users.tokenVersion} + 1`, mfaEnabled: false })
          .where(and(eq(users.id, id), staffNow))
          .returning({ id: users.id }),
        auditStatement(c, { kind: 'staff.factors_removed', actor: user, subject: { id } }, 'ifChanged'),
      ]);
      if (ended.length === 0) throw (await staffRefusal(c, user, id)) ?? notFound();
      await noticeAfterResponse(c, id, 'factor.removed', 'Every second factor and passkey (by staff)');
      return c.body(null, 204);
    },
  }),
];

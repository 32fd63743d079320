/**
 * Logging in with a username and password, shared by the tutorial's obtain routes and the
 * browser session's login: the same checks, errors, rate limits and timing for both.
 */
import type { Context } from 'hono';
import * as z from 'zod';
import { auditAfterResponse, auditStatement } from '../audit/record';
import {
  hashPassword,
  passwordNeedsRehash,
  UnsupportedPasswordHash,
  verifyAgainstDummy,
  verifyPassword,
} from '../auth/passwords';
import { issueMfaToken, MFA_TOKEN_LIFETIME, type AuthMethod, type TokenUser } from '../auth/tokens';
import { secondStepMethods, startMfaLogin } from '../db/mfa';
import { findLoginUser, recordLogin, rehashPassword } from '../db/users';
import { nonFieldError } from '../drf/errors';
import { charField, passwordField, USERNAME_MAX_LENGTH } from '../drf/fields';
import type { AppEnv } from '../env';
import { afterResponse } from '../http/after-response';
import { throttle } from '../http/rate-limit';

export const credentialsBody = z.object({
  username: charField({ maxLength: USERNAME_MAX_LENGTH }),
  password: passwordField(),
});

const INVALID_CREDENTIALS = 'Unable to log in with provided credentials.';

/**
 * The active user the credentials name, its login recorded after the response; DRF's one 400
 * otherwise (and a `login.failed` event). Every failure does the same PBKDF2 work and answers the
 * same body: nothing tells an unknown username from a wrong password or an inactive account.
 */
export async function logIn(c: Context<AppEnv>, { username, password }: z.output<typeof credentialsBody>) {
  const normalized = username.normalize('NFKC');
  await throttle(c, 'RATE_LIMIT_USERNAME', `obtain:${normalized}`);
  const user = await findLoginUser(c.get('db'), normalized);
  let passwordMatches = false;
  if (!user) {
    passwordMatches = await verifyAgainstDummy(password);
  } else {
    try {
      passwordMatches = await verifyPassword(password, user.password);
    } catch (error) {
      if (!(error instanceof UnsupportedPasswordHash)) throw error;
      console.error(
        JSON.stringify({
          requestId: c.get('requestId'),
          message: 'A user cannot log in: the stored password hash is not supported here. Set a new password.',
          userId: user.id,
          reason: error.message,
        }),
      );
      passwordMatches = await verifyAgainstDummy(password); // the time of a real check
    }
  }
  if (!user || !passwordMatches || !user.isActive) {
    // The account the username names, if any: its owner sees the attempt; an unknown username is
    // not kept (it may be a password typed in the wrong field).
    await auditAfterResponse(c, {
      kind: 'login.failed',
      actor: null,
      subject: user ? { id: user.id, username: user.username } : null,
    });
    throw nonFieldError(INVALID_CREDENTIALS);
  }
  // A hash at another iteration count (imported from Django) is replaced after the response, in
  // the same statement as the login's record, so its slow check runs once per user.
  const rehash = passwordNeedsRehash(user.password)
    ? async () => ({ from: user.password, to: await hashPassword(password) })
    : undefined;
  // With a second factor, the login is recorded when its second step succeeds.
  if (!user.mfaEnabled) await recordLoginAfterResponse(c, user, ['pwd'], rehash);
  else if (rehash)
    await afterResponse(c, 'Rehashing a password', async () => rehashPassword(c.get('db'), user.id, await rehash()));
  return user;
}

/**
 * After the response, so the login never waits on it: `last_login` (and a password rehash) with
 * the login's event, in one batch.
 */
export async function recordLoginAfterResponse(
  c: Context<AppEnv>,
  user: { id: number; username: string },
  amr: readonly AuthMethod[],
  rehash?: () => Promise<{ from: string; to: string }>,
) {
  const db = c.get('db');
  const event = auditStatement(c, {
    kind: 'login.succeeded',
    actor: user,
    subject: user,
    details: { methods: amr },
  });
  await afterResponse(c, 'Recording the login', async () =>
    db.batch([recordLogin(db, user.id, new Date(), await rehash?.()), event]),
  );
}

export type LoginUser = Awaited<ReturnType<typeof logIn>>;

/**
 * A login's second step, started: its `mfa_logins` row, the `mfa_token` naming it and how the
 * first step went (`session`: a browser session's login, so the second step answers a cookie
 * too), and the methods the user may verify with.
 */
export async function startSecondStep(
  c: Context<AppEnv>,
  user: TokenUser,
  first: { amr: readonly AuthMethod[]; session: boolean },
) {
  const now = new Date();
  const jti = crypto.randomUUID();
  const [methods] = await Promise.all([
    secondStepMethods(c.get('db'), user.id),
    startMfaLogin(c.get('db'), jti, user.id, new Date(now.getTime() + MFA_TOKEN_LIFETIME * 1000), now),
  ]);
  return { mfaToken: await issueMfaToken(user, first, jti, c.get('settings'), now), methods };
}

/**
 * The answer to a correct password of a user with a second factor: no token yet, but an
 * `mfa_token` for POST /auth/mfa/verify/, which answers what this login would have.
 */
export async function mfaRequired(c: Context<AppEnv>, user: LoginUser, session: boolean) {
  const { mfaToken, methods } = await startSecondStep(c, user, { amr: ['pwd'], session });
  return c.json({ mfa_required: true, mfa_token: mfaToken, methods });
}

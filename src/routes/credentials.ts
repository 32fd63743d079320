/**
 * Logging in with a username and password, shared by the tutorial's obtain routes and the
 * browser session's login: the same checks, errors, rate limits and timing for both.
 */
import type { Context } from 'hono';
import * as z from 'zod';
import {
  hashPassword,
  passwordNeedsRehash,
  UnsupportedPasswordHash,
  verifyAgainstDummy,
  verifyPassword,
} from '../auth/passwords';
import { issueMfaToken, MFA_TOKEN_LIFETIME } from '../auth/tokens';
import { secondStepMethods, startMfaLogin } from '../db/mfa';
import { findLoginUser, recordLogin } from '../db/users';
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
 * otherwise. Every failure does the same PBKDF2 work and answers the same body: nothing tells an
 * unknown username from a wrong password or an inactive account.
 */
export async function logIn(c: Context<AppEnv>, { username, password }: z.output<typeof credentialsBody>) {
  const normalized = username.normalize('NFKC');
  await throttle(c, 'RATE_LIMIT_USERNAME', `obtain:${normalized}`);
  const user = await findLoginUser(c.var.db, normalized);
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
  if (!user || !passwordMatches || !user.isActive) throw nonFieldError(INVALID_CREDENTIALS);
  // After the response: the login never waits on this write. A hash at another iteration count
  // (imported from Django) is replaced in the same statement, so its slow check runs once per user.
  const rehash = passwordNeedsRehash(user.password);
  await afterResponse(c, 'Recording the login', async () =>
    recordLogin(
      c.var.db,
      user.id,
      new Date(),
      rehash ? { from: user.password, to: await hashPassword(password) } : undefined,
    ),
  );
  return user;
}

export type LoginUser = Awaited<ReturnType<typeof logIn>>;

/**
 * The answer to a correct password of a user with a second factor: no token yet, but an
 * `mfa_token` for POST /auth/mfa/verify/, which answers what this login would have (`session`:
 * a browser session's login, so a cookie too).
 */
export async function mfaRequired(c: Context<AppEnv>, user: LoginUser, session: boolean) {
  const now = new Date();
  const jti = crypto.randomUUID();
  const [methods] = await Promise.all([
    secondStepMethods(c.var.db, user.id),
    startMfaLogin(c.var.db, jti, user.id, new Date(now.getTime() + MFA_TOKEN_LIFETIME * 1000), now),
  ]);
  const mfaToken = await issueMfaToken(user, { amr: ['pwd'], session }, jti, c.var.settings, now);
  return c.json({ mfa_required: true, mfa_token: mfaToken, methods });
}

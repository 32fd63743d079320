/**
 * Checking a code of the second factor for a user, whatever route takes it (the login's second
 * step, re-authentication): a TOTP code, each time step once, or a recovery code, once. Wrong
 * codes count against the user (MAX_CODE_FAILURES per window), so spreading guesses over many
 * login attempts does not help.
 */
import { base64url } from '../base64url';
import type { Settings } from '../config';
import type { Database } from '../db/client';
import { codeLockSeconds, countCodeFailure, findTotp, useRecoveryCode, useTotpStep } from '../db/mfa';
import { detail } from '../drf/errors';
import { open } from './secret-box';
import { base32Encode, matchTotp } from './totp';

export const TOTP_SEAL_PURPOSE = 'totp-secret';
const RECOVERY_CODE_COUNT = 10;
const RECOVERY_CODE_BYTES = 10; // 80 bits: 16 base32 characters

/** `abcd-efgh-ijkl-mnop`, lower case; typed back in any case, with or without the dashes. */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const code = base32Encode(crypto.getRandomValues(new Uint8Array(RECOVERY_CODE_BYTES))).toLowerCase();
    return code.match(/.{4}/g)!.join('-');
  });
}

const normalizeRecoveryCode = (code: string) => code.replace(/[\s-]/g, '').toUpperCase();
const isRecoveryCode = (code: string) => /^[A-Z2-7]{16}$/.test(normalizeRecoveryCode(code));

/** SHA-256 of the normalized code: 80 random bits need no slow hash. */
export async function hashRecoveryCode(code: string): Promise<string> {
  const bytes = new TextEncoder().encode(normalizeRecoveryCode(code));
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}

export type CodeMethod = 'otp';

export const tooManyCodes = (seconds: number) =>
  detail(429, `Too many wrong codes. Expected available in ${seconds} seconds.`, { 'Retry-After': String(seconds) });

/**
 * True when `code` is a valid, unused code of the user's authenticator app or one of their
 * recovery codes, which it uses up; false otherwise (counted). 429 while the user is locked out.
 */
export async function checkSecondFactorCode(
  db: Database,
  settings: Settings,
  userId: number,
  code: string,
  now = new Date(),
): Promise<boolean> {
  const factor = await findTotp(db, userId);
  const locked = codeLockSeconds(factor, now);
  if (locked > 0) throw tooManyCodes(locked);
  let accepted = false;
  if (factor?.secret) {
    const secret = await open(factor.secret, TOTP_SEAL_PURPOSE, settings);
    const step = secret === undefined ? undefined : await matchTotp(secret, code.trim(), factor.lastStep, now);
    // The update takes the step only if it is still newer than the last one used: of two
    // requests with one code, one wins.
    if (step !== undefined) accepted = (await useTotpStep(db, userId, step)).length > 0;
  }
  if (!accepted && isRecoveryCode(code)) {
    accepted = (await useRecoveryCode(db, userId, await hashRecoveryCode(code))).length > 0;
  }
  if (!accepted) await countCodeFailure(db, userId, now);
  return accepted;
}

/**
 * Checking a passkey assertion, whatever route takes one (the passwordless login, a login's
 * second step, re-authentication): its challenge taken once for the binding it was issued for,
 * the credential known (and the owner's when one is expected), the signature and sign counter
 * verified, and the use recorded.
 */
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { Settings } from '../config';
import type { Database } from '../db/client';
import { findPasskeyByCredential, recordPasskeyUse, takeChallenge, type ChallengeBinding } from '../db/passkeys';
import { challengeOf, relyingParty, verifyAssertion } from './webauthn';

/** What every route answers for an assertion that did not verify, whatever the reason. */
export const INVALID_PASSKEY = 'The passkey could not be verified. Try again.';

export async function checkPasskeyAssertion(
  db: Database,
  settings: Settings,
  response: AuthenticationResponseJSON,
  {
    binding,
    owner,
    requireUserVerification,
    now,
  }: {
    binding: ChallengeBinding;
    /** The user the passkey must belong to; undefined for a passwordless login (anyone's). */
    owner?: number;
    requireUserVerification: boolean;
    now: Date;
  },
) {
  const challenge = challengeOf(response);
  if (challenge === undefined || !(await takeChallenge(db, challenge, binding, now))) return undefined;
  const passkey = await findPasskeyByCredential(db, response.id);
  if (!passkey || (owner !== undefined && passkey.userId !== owner)) return undefined;
  const { userHandle } = response.response;
  if (userHandle !== undefined && userHandle !== passkey.userHandle) return undefined;
  const assertion = await verifyAssertion(
    relyingParty(settings),
    response,
    challenge,
    passkey,
    requireUserVerification,
  );
  if (!assertion) return undefined;
  const recorded = await recordPasskeyUse(db, passkey.id, {
    previousCounter: passkey.counter,
    newCounter: assertion.newCounter,
    backedUp: assertion.backedUp,
    at: now,
  });
  return recorded.length > 0 ? { passkey, assertion } : undefined;
}

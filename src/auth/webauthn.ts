/**
 * Passkeys (WebAuthn) through @simplewebauthn/server: the relying party (SITE_URL's host and
 * origin, plus the listed app origins), creation and request options, and the two verifications.
 * The library is imported when a passkey route first needs it, so no other request pays for
 * loading it. Challenges are kept in D1 by the caller (src/db/passkeys.ts), used once.
 */
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import * as z from 'zod';
import { base64url, fromBase64url } from '../base64url';
import type { Settings } from '../config';

const webauthn = () => import('@simplewebauthn/server');

/** How long a challenge (and the browser's prompt) lasts. */
export const CHALLENGE_LIFETIME_SECONDS = 300;
/** Passkeys one user may have: a list that is read whole stays small. */
export const MAX_PASSKEYS = 20;

export interface RelyingParty {
  id: string;
  name: string;
  origins: string[];
}

export function relyingParty(settings: Settings): RelyingParty {
  const site = new URL(settings.siteUrl);
  return { id: site.hostname, name: site.host, origins: [site.origin, ...settings.corsAllowedOrigins] };
}

/** A stored passkey as the verification needs it. */
export interface StoredCredential {
  credentialId: string;
  publicKey: string;
  counter: number;
  transports: string;
}

const transportsOf = (stored: string) => (stored ? stored.split(' ') : []) as AuthenticatorTransportFuture[];
type AuthenticatorTransportFuture = NonNullable<RegistrationResponseJSON['response']['transports']>[number];

export async function creationOptions(
  party: RelyingParty,
  user: { username: string; userHandle: string },
  existing: readonly StoredCredential[],
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const { generateRegistrationOptions } = await webauthn();
  return generateRegistrationOptions({
    rpName: party.name,
    rpID: party.id,
    userName: user.username,
    userID: fromBase64url(user.userHandle),
    attestationType: 'none',
    excludeCredentials: existing.map((credential) => ({
      id: credential.credentialId,
      transports: transportsOf(credential.transports),
    })),
    // Discoverable, so the login page needs no username; verification where the device can.
    authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    timeout: CHALLENGE_LIFETIME_SECONDS * 1000,
  });
}

/** Request options: `allowed` empty for a passwordless login (any passkey of this site). */
export async function requestOptions(
  party: RelyingParty,
  allowed: readonly StoredCredential[],
  userVerification: 'required' | 'preferred',
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const { generateAuthenticationOptions } = await webauthn();
  return generateAuthenticationOptions({
    rpID: party.id,
    allowCredentials: allowed.map((credential) => ({
      id: credential.credentialId,
      transports: transportsOf(credential.transports),
    })),
    userVerification,
    timeout: CHALLENGE_LIFETIME_SECONDS * 1000,
  });
}

/** A new random user handle (WebAuthn's user.id): 32 bytes, base64url, never the username. */
export const newUserHandle = () => base64url(crypto.getRandomValues(new Uint8Array(32)));

/** The challenge a response answers, read from its clientDataJSON; undefined when unreadable. */
export function challengeOf(response: { response: { clientDataJSON: string } }): string | undefined {
  try {
    const client = JSON.parse(new TextDecoder().decode(fromBase64url(response.response.clientDataJSON))) as unknown;
    const challenge = (client as { challenge?: unknown }).challenge;
    return typeof challenge === 'string' && challenge.length <= 128 ? challenge : undefined;
  } catch {
    return undefined;
  }
}

export interface NewCredential extends StoredCredential {
  deviceType: string;
  backedUp: boolean;
}

/** The credential a registration response creates; undefined when it does not verify. */
export async function verifyRegistration(
  party: RelyingParty,
  response: RegistrationResponseJSON,
  challenge: string,
): Promise<NewCredential | undefined> {
  const { verifyRegistrationResponse } = await webauthn();
  try {
    const { verified, registrationInfo } = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: party.origins,
      expectedRPID: party.id,
      requireUserVerification: false,
    });
    if (!verified) return undefined;
    const { credential, credentialDeviceType, credentialBackedUp } = registrationInfo;
    return {
      credentialId: credential.id,
      publicKey: base64url(credential.publicKey),
      counter: credential.counter,
      transports: (response.response.transports ?? []).join(' '),
      deviceType: credentialDeviceType,
      backedUp: credentialBackedUp,
    };
  } catch {
    return undefined; // malformed or forged: the library says why, the client learns only "not valid"
  }
}

export interface Assertion {
  newCounter: number;
  backedUp: boolean;
  userVerified: boolean;
}

/**
 * Checks an assertion of `credential` against `challenge`; undefined when it does not verify
 * (a bad signature, another origin, a sign counter that went back, no user verification when
 * `requireUserVerification`).
 */
export async function verifyAssertion(
  party: RelyingParty,
  response: AuthenticationResponseJSON,
  challenge: string,
  credential: StoredCredential,
  requireUserVerification: boolean,
): Promise<Assertion | undefined> {
  const { verifyAuthenticationResponse } = await webauthn();
  try {
    const { verified, authenticationInfo } = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: party.origins,
      expectedRPID: party.id,
      credential: {
        id: credential.credentialId,
        publicKey: fromBase64url(credential.publicKey),
        counter: credential.counter,
        transports: transportsOf(credential.transports),
      },
      requireUserVerification,
    });
    if (!verified) return undefined;
    return {
      newCounter: authenticationInfo.newCounter,
      backedUp: authenticationInfo.credentialBackedUp,
      userVerified: authenticationInfo.userVerified,
    };
  } catch {
    return undefined;
  }
}

// The browser's JSON, checked for shape and size before the library reads it.
const b64 = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[A-Za-z0-9_-]*={0,2}$/);
const credentialBase = {
  id: b64(1024),
  rawId: b64(1024),
  type: z.literal('public-key'),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
};

export const registrationResponse = z.object({
  ...credentialBase,
  response: z.object({
    clientDataJSON: b64(4096),
    attestationObject: b64(16384),
    transports: z.array(z.string().max(32)).max(8).optional(),
    authenticatorData: b64(16384).optional(),
    publicKey: b64(4096).optional(),
    publicKeyAlgorithm: z.number().optional(),
  }),
});

export const authenticationResponse = z.object({
  ...credentialBase,
  response: z.object({
    clientDataJSON: b64(4096),
    authenticatorData: b64(4096),
    signature: b64(1024),
    userHandle: b64(256).optional(),
  }),
});

/**
 * Issues and verifies each kind of token; knows nothing of HTTP. With keys.ts and oidc-tokens.ts
 * (the OpenID Connect provider's kinds), the only files that import jose.
 *
 * Kinds are told apart by the JWT `typ` header, which jose checks on verification, so an
 * activation token never passes as an access token and the reverse. Every token names its key
 * with `kid`; verification takes the key from our own key ring by that `kid` (never from the
 * token's `jwk`, `jku` or `x5u` headers) and accepts only the configured algorithm.
 */
import { errors, jwtVerify, SignJWT, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { base64url } from '../base64url';
import type { Settings } from '../config';
import { perSettings } from '../per-settings';
import { keyRing } from './keys';

type TokenKind = 'access' | 'activation' | 'reset' | 'mfa' | 'email' | 'external';

const TOKEN_TYPES: Record<TokenKind, string> = {
  access: 'at+jwt',
  activation: 'activation+jwt',
  reset: 'password-reset+jwt',
  mfa: 'mfa+jwt',
  email: 'email-change+jwt',
  external: 'external-login+jwt',
};

/** How long the second step of a login may take. */
export const MFA_TOKEN_LIFETIME = 300;

/**
 * RFC 8176 methods: `pwd` password, `otp` a one-time code, `hwk` a passkey, `mfa` two factors,
 * `fed` another provider (sign in with Google, GitHub, ...).
 */
export const AUTH_METHODS = ['pwd', 'otp', 'hwk', 'user', 'mfa', 'fed'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/** How a user logged in: the methods, and when (seconds) they last proved who they are. */
export interface Authentication {
  amr: readonly AuthMethod[];
  authTime: number;
}

/** A session row's methods (space-separated); anything unknown reads as a password login. */
export const parseAmr = (stored: string): AuthMethod[] => {
  const methods = stored.split(' ');
  return isAmr(methods) ? methods : ['pwd'];
};

const isAmr = (value: unknown): value is AuthMethod[] =>
  Array.isArray(value) && value.length > 0 && value.every((m) => (AUTH_METHODS as readonly unknown[]).includes(m));

/** Why a token was refused: `expired` (its `exp` has passed) or `invalid` (anything else). */
export class TokenError extends Error {
  constructor(
    readonly code: 'expired' | 'invalid',
    options?: { cause?: unknown },
  ) {
    super(code === 'expired' ? 'Signature has expired.' : 'Error decoding signature.', options);
    this.name = 'TokenError';
  }
}

export interface TokenUser {
  id: number;
  username: string;
  isStaff: boolean;
  /** The user's token version when the token is issued; see users.tokenVersion. */
  tokenVersion: number;
}

export interface AccessClaims {
  userId: number;
  username: string;
  isStaff: boolean;
  tokenVersion: number;
  /** When the user first logged in, in seconds: refreshing keeps it. */
  origIat: number | undefined;
  /**
   * `sid`: the browser session the token came from. Such a token is refreshed only through its
   * session (whose cookie no script can read), never with /auth/refresh_token/.
   */
  sessionId: string | undefined;
  /**
   * `amr` and `auth_time`; a token of the tutorial's format from before they existed counts as a
   * password login at `orig_iat` (or `iat`).
   */
  authentication: Authentication;
  iat: number;
  exp: number;
  jti: string;
}

interface ActivationClaims {
  userId: number;
  jti: string;
}

const epochSeconds = (now: Date) => Math.floor(now.getTime() / 1000);

async function sign(
  kind: TokenKind,
  claims: JWTPayload,
  subject: number,
  lifetime: number,
  settings: Settings,
  now: Date,
  jti: string,
): Promise<string> {
  const iat = epochSeconds(now);
  const { algorithm, signing } = await keyRing(settings);
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: algorithm, typ: TOKEN_TYPES[kind], kid: signing.kid })
    .setSubject(String(subject))
    .setIssuedAt(iat)
    .setExpirationTime(iat + lifetime)
    .setJti(jti);
  if (settings.jwtIssuer) jwt.setIssuer(settings.jwtIssuer);
  if (settings.jwtAudience) jwt.setAudience(settings.jwtAudience);
  return jwt.sign(signing.key);
}

/**
 * A new access token; pass `origIat` and `authentication` when refreshing so the refresh window
 * and the login's methods do not move, and `sessionId` for a token of a browser session. Without
 * `authentication`, a password login now.
 */
export function issueAccessToken(
  user: TokenUser,
  settings: Settings,
  {
    origIat,
    sessionId,
    authentication,
    now = new Date(),
  }: { origIat?: number; sessionId?: string; authentication?: Authentication; now?: Date } = {},
): Promise<string> {
  const claims = {
    user_id: user.id,
    username: user.username,
    is_staff: user.isStaff,
    token_version: user.tokenVersion,
    orig_iat: origIat ?? epochSeconds(now),
    ...(sessionId === undefined ? {} : { sid: sessionId }),
    amr: authentication?.amr ?? ['pwd'],
    auth_time: authentication?.authTime ?? epochSeconds(now),
  };
  return sign('access', claims, user.id, settings.jwtExpirationDelta, settings, now, crypto.randomUUID());
}

/** An activation token; its `jti` is stored with the user so the link works only once. */
export function issueActivationToken(
  userId: number,
  jti: string,
  settings: Settings,
  now = new Date(),
): Promise<string> {
  return sign('activation', { user_id: userId }, userId, settings.activationExpirationDelta, settings, now, jti);
}

/** Only a ring's own keys, chosen by kid: a token without a kid, or with one the ring lacks, fails. */
export const keyByKid =
  (verifying: ReadonlyMap<string, CryptoKey>) =>
  ({ kid }: JWTHeaderParameters) => {
    const key = kid === undefined ? undefined : verifying.get(kid);
    if (!key) throw new TokenError('invalid');
    return key;
  };

/** `anonymous`: the token may name no user (`user_id` 0): an external login's, before any account. */
async function verify(
  kind: TokenKind,
  token: string,
  lifetime: number,
  settings: Settings,
  now: Date,
  { anonymous = false }: { anonymous?: boolean } = {},
) {
  try {
    const ring = await keyRing(settings);
    const { payload } = await jwtVerify(token, keyByKid(ring.verifying), {
      algorithms: [ring.algorithm],
      typ: TOKEN_TYPES[kind],
      issuer: settings.jwtIssuer,
      audience: settings.jwtAudience,
      clockTolerance: settings.jwtLeeway,
      // Also rejects an `iat` in the future.
      maxTokenAge: lifetime,
      requiredClaims: ['sub', 'exp', 'iat', 'jti', 'user_id'],
      currentDate: now,
    });
    // A lifetime longer than the setting could only come from a stolen key or an old setting.
    const tooLong = (payload.exp ?? Infinity) - (payload.iat ?? 0) > lifetime;
    if (
      tooLong ||
      typeof payload.jti !== 'string' ||
      !(isUserId(payload.user_id) || (anonymous && payload.user_id === 0)) ||
      payload.sub !== String(payload.user_id)
    ) {
      throw new TokenError('invalid');
    }
    return payload as JWTPayload & { user_id: number; jti: string };
  } catch (error) {
    throw toTokenError(error);
  }
}

function isUserId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/** Maps every jose failure to one of our two token errors, keeping the original as `cause`. */
export function toTokenError(error: unknown): TokenError {
  if (error instanceof TokenError) return error;
  if (error instanceof errors.JWTExpired) return new TokenError('expired', { cause: error });
  if (error instanceof errors.JOSEError) return new TokenError('invalid', { cause: error });
  throw error;
}

const isSafeInteger = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value);

interface VerifiedToken {
  claims: AccessClaims;
  /** The window (seconds, `until` excluded) in which verifying it again gives the same answer. */
  from: number;
  until: number;
}

const VERIFIED_TOKENS_KEPT = 1000;

/**
 * Access tokens that verified, by their SHA-256: a client sends the same token with every request
 * of its few minutes, and its signature check is most of what authentication costs. An entry
 * answers only from its check until the moment jose's `exp` or `maxTokenAge` check would refuse
 * the token (the other checks do not depend on the time, or only pass more as it goes on); outside
 * that window the token is verified from scratch. Per Settings, so other keys, issuer or lifetime
 * start afresh; the oldest entry goes first.
 */
const verifiedAccessTokens = perSettings(() => new Map<string, VerifiedToken>());

const tokenDigest = async (token: string) =>
  base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token))));

export async function verifyAccessToken(token: string, settings: Settings, now = new Date()): Promise<AccessClaims> {
  const verified = verifiedAccessTokens(settings);
  const key = await tokenDigest(token);
  const seconds = Math.floor(now.getTime() / 1000);
  const known = verified.get(key);
  if (known && known.from <= seconds && seconds < known.until) return known.claims;
  // Shared by every request that sends the token: nobody may change it.
  const claims = Object.freeze(await checkAccessToken(token, settings, now));
  Object.freeze(claims.authentication.amr);
  Object.freeze(claims.authentication);
  verified.delete(key);
  if (verified.size >= VERIFIED_TOKENS_KEPT) verified.delete(verified.keys().next().value!);
  const { jwtLeeway: leeway, jwtExpirationDelta: lifetime } = settings;
  verified.set(key, {
    claims,
    from: seconds,
    until: Math.min(claims.exp + leeway, claims.iat + lifetime + leeway + 1),
  });
  return claims;
}

/** verifyAccessToken without the memory: the signature, the claims, the time. */
async function checkAccessToken(token: string, settings: Settings, now: Date): Promise<AccessClaims> {
  const payload = await verify('access', token, settings.jwtExpirationDelta, settings, now);
  const { username, is_staff: isStaff, token_version: tokenVersion, orig_iat: origIat, sid, iat, exp, amr } = payload;
  const authTime = payload.auth_time;
  const claimsAreValid =
    typeof username === 'string' &&
    typeof isStaff === 'boolean' &&
    isSafeInteger(tokenVersion) &&
    // Absent only in tokens of other issuers of the tutorial's format; refresh asks for it.
    (origIat === undefined || (isSafeInteger(origIat) && origIat <= iat!)) &&
    (sid === undefined || typeof sid === 'string') &&
    (amr === undefined || isAmr(amr)) &&
    (authTime === undefined || (isSafeInteger(authTime) && authTime <= iat!));
  if (!claimsAreValid) throw new TokenError('invalid');
  return {
    userId: payload.user_id,
    username,
    isStaff,
    tokenVersion,
    origIat,
    sessionId: sid,
    authentication: { amr: (amr as AuthMethod[] | undefined) ?? ['pwd'], authTime: authTime ?? origIat ?? iat! },
    iat: iat!,
    exp: exp!,
    jti: payload.jti,
  };
}

/**
 * A password reset token. `passwordFingerprint` ties it to the password the user has now: once the
 * password changes (by this link or any other way) every link issued before is dead.
 */
export function issuePasswordResetToken(
  userId: number,
  passwordFingerprint: string,
  settings: Settings,
  now = new Date(),
): Promise<string> {
  const claims = { user_id: userId, pwd: passwordFingerprint };
  return sign('reset', claims, userId, settings.passwordResetExpirationDelta, settings, now, crypto.randomUUID());
}

export async function verifyPasswordResetToken(
  token: string,
  settings: Settings,
  now = new Date(),
): Promise<{ userId: number; passwordFingerprint: string }> {
  const payload = await verify('reset', token, settings.passwordResetExpirationDelta, settings, now);
  if (typeof payload.pwd !== 'string') throw new TokenError('invalid');
  return { userId: payload.user_id, passwordFingerprint: payload.pwd };
}

export async function verifyActivationToken(
  token: string,
  settings: Settings,
  now = new Date(),
): Promise<ActivationClaims> {
  const payload = await verify('activation', token, settings.activationExpirationDelta, settings, now);
  return { userId: payload.user_id, jti: payload.jti };
}

/**
 * The link of an email change, mailed to the new address: it names that address, and its `jti` is
 * stored with the user (a newer request replaces it), so it works once. Lasts as an activation link.
 */
export function issueEmailChangeToken(
  userId: number,
  email: string,
  jti: string,
  settings: Settings,
  now = new Date(),
): Promise<string> {
  return sign('email', { user_id: userId, email }, userId, settings.activationExpirationDelta, settings, now, jti);
}

export async function verifyEmailChangeToken(
  token: string,
  settings: Settings,
  now = new Date(),
): Promise<{ userId: number; email: string; jti: string }> {
  const payload = await verify('email', token, settings.activationExpirationDelta, settings, now);
  if (typeof payload.email !== 'string') throw new TokenError('invalid');
  return { userId: payload.user_id, email: payload.email, jti: payload.jti };
}

/** True when a token first issued at `origIat` may no longer be refreshed. */
export function refreshHasExpired(origIat: number, settings: Settings, now = new Date()): boolean {
  return epochSeconds(now) > origIat + settings.jwtRefreshExpirationDelta;
}

/**
 * The token of a login's second step: it names the user, how the first step went, and the
 * `mfa_logins` row (by `jti`) that counts its tries. `session`: the login was a browser session's,
 * so the second step answers with a cookie too. No other route accepts it.
 */
export function issueMfaToken(
  user: TokenUser,
  first: { amr: readonly AuthMethod[]; session: boolean },
  jti: string,
  settings: Settings,
  now = new Date(),
): Promise<string> {
  const claims = { user_id: user.id, token_version: user.tokenVersion, amr: first.amr, session: first.session };
  return sign('mfa', claims, user.id, MFA_TOKEN_LIFETIME, settings, now, jti);
}

export interface MfaClaims {
  userId: number;
  tokenVersion: number;
  amr: AuthMethod[];
  session: boolean;
  jti: string;
}

export async function verifyMfaToken(token: string, settings: Settings, now = new Date()): Promise<MfaClaims> {
  const payload = await verify('mfa', token, MFA_TOKEN_LIFETIME, settings, now);
  const { token_version: tokenVersion, amr, session } = payload;
  if (!isSafeInteger(tokenVersion) || !isAmr(amr) || typeof session !== 'boolean') throw new TokenError('invalid');
  return { userId: payload.user_id, tokenVersion, amr, session, jti: payload.jti };
}

/** How long a sign-in at another provider may take, from our redirect to its callback. */
export const EXTERNAL_LOGIN_LIFETIME = 600;

/**
 * What a sign-in through another provider must find again at its callback, kept in a short-lived
 * cookie this token signs: the provider, `state`, `nonce` and the PKCE verifier; `linkTo`, the user
 * who asked to link the provider's account to theirs. Its `sub` is 0 when nobody is logged in.
 */
export interface ExternalLogin {
  provider: string;
  state: string;
  nonce: string;
  verifier: string;
  linkTo: number | undefined;
}

export function issueExternalLoginToken(login: ExternalLogin, settings: Settings, now = new Date()): Promise<string> {
  const claims = {
    user_id: login.linkTo ?? 0,
    provider: login.provider,
    state: login.state,
    nonce: login.nonce,
    verifier: login.verifier,
  };
  return sign('external', claims, login.linkTo ?? 0, EXTERNAL_LOGIN_LIFETIME, settings, now, crypto.randomUUID());
}

export async function verifyExternalLoginToken(
  token: string,
  settings: Settings,
  now = new Date(),
): Promise<ExternalLogin> {
  const payload = await verify('external', token, EXTERNAL_LOGIN_LIFETIME, settings, now, { anonymous: true });
  const { provider, state, nonce, verifier } = payload;
  if (
    typeof provider !== 'string' ||
    typeof state !== 'string' ||
    typeof nonce !== 'string' ||
    typeof verifier !== 'string'
  ) {
    throw new TokenError('invalid');
  }
  return { provider, state, nonce, verifier, linkTo: payload.user_id === 0 ? undefined : (payload.user_id as number) };
}

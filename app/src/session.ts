/**
 * The browser session: the access token lives in memory only (never localStorage or
 * sessionStorage); the HttpOnly session cookie, which this code never sees, brings a new one after
 * a reload and shortly before each expiry.
 *
 * Session requests never overlap: a refresh answered 401 clears the cookie, and one that was still
 * on its way when the user logged in again would clear the new cookie.
 *
 * A session starts with a password (for a user with a second factor, then a code or a passkey:
 * POST /auth/mfa/verify/) or with a passkey alone; a passkey's prompt is never inside a session
 * request, so refreshes do not wait for the user.
 */
import createClient from 'openapi-fetch';
import { reactive, readonly } from 'vue';
import type { paths } from './api/schema';
import { networkProblem, problemFrom, type ApiProblem } from './api/errors';
import { signWithPasskey, thrownProblem, type PasskeyAssertion } from './webauthn';

export const API_URL = (import.meta.env.VITE_API_URL ?? '').replace(/\/$/, '');

/**
 * The session routes (the logins among them) only: the one place that sends credentials (the
 * cookie) cross-origin.
 */
const sessionApi = createClient<paths>({ baseUrl: API_URL, credentials: 'include' });
/** The login routes that neither need nor set the cookie: a passkey prompt's options. */
const loginOptionsApi = createClient<paths>({ baseUrl: API_URL });

export interface SessionUser {
  id: number;
  username: string;
  isStaff: boolean;
}

const state = reactive({
  token: null as string | null,
  user: null as SessionUser | null,
  /** False until the first refresh after a load has answered. */
  ready: false,
});

export const session = readonly(state);

/** Refresh this long before the token expires (or halfway through a shorter life). */
const EARLY_MS = 30_000;
/** After a refresh the server could not answer (429, 5xx, offline): try again this much later. */
const RETRY_MS = 10_000;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;

function claimsOf(token: string): { user_id: number; username: string; is_staff: boolean; iat: number; exp: number } {
  const payload = token.split('.')[1] ?? '';
  const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
}

function refreshIn(delay: number): void {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => void refresh(), delay);
}

function setToken(token: string | null): void {
  clearTimeout(refreshTimer);
  state.token = token;
  if (token === null) {
    state.user = null;
    return;
  }
  const claims = claimsOf(token);
  state.user = { id: claims.user_id, username: claims.username, isStaff: claims.is_staff };
  // The token's own lifetime, not its `exp` against this device's clock, which may be off.
  const lifetime = (claims.exp - claims.iat) * 1000;
  refreshIn(Math.max(lifetime - EARLY_MS, lifetime / 2, 1000));
}

/** The session request on its way, if any; the next one waits for it. */
let pending: Promise<unknown> = Promise.resolve();
let refreshing: Promise<boolean> | null = null;

function serialized<T>(request: () => Promise<T>): Promise<T> {
  const next = pending.then(request, request);
  pending = next.catch(() => undefined);
  return next;
}

/**
 * A new access token from the session cookie (concurrent callers share one request). False when
 * there is no session (401, 403). When the server cannot answer, the token in hand is kept and the
 * refresh tried again shortly.
 */
export function refresh(): Promise<boolean> {
  refreshing ??= serialized(async () => {
    try {
      const { data, response } = await sessionApi.POST('/auth/session/refresh/');
      if (data !== undefined) {
        setToken(data.token);
        return true;
      }
      if (response.status === 401 || response.status === 403) {
        setToken(null);
        return false;
      }
    } catch {
      // Offline: as for a server error below.
    }
    if (state.token !== null) refreshIn(RETRY_MS);
    return state.token !== null;
  }).finally(() => {
    refreshing = null;
    state.ready = true;
  });
  return refreshing;
}

/** A login whose password was right and that waits for a second factor (verifySecondFactor). */
export interface SecondStep {
  mfaToken: string;
  /** What the user may verify with: `totp`, `recovery_code`, `webauthn`. */
  methods: string[];
}

/** Logs in with a session; answers what went wrong, the second step a user with a factor needs, or null. */
export function logIn(username: string, password: string): Promise<ApiProblem | SecondStep | null> {
  return serialized(async () => {
    try {
      const { data, error } = await sessionApi.POST('/auth/session/', { body: { username, password } });
      if (data === undefined) return problemFrom(error);
      if ('mfa_token' in data) return { mfaToken: data.mfa_token, methods: data.methods };
      setToken(data.token);
      return null;
    } catch {
      return networkProblem();
    }
  });
}

/** A session request that answers a token and sets the cookie; answers what went wrong, or null. */
function startSession(
  request: () => Promise<{ data?: { token: string }; error?: unknown }>,
): Promise<ApiProblem | null> {
  return serialized(async () => {
    try {
      const { data, error } = await request();
      if (data === undefined) return problemFrom(error);
      setToken(data.token);
      return null;
    } catch {
      return networkProblem();
    }
  });
}

/** The second step of a login: a code (authenticator app or recovery code) or a passkey's answer. */
export function verifySecondFactor(
  mfaToken: string,
  proof: { code: string } | { webauthn: PasskeyAssertion },
): Promise<ApiProblem | null> {
  return startSession(() => sessionApi.POST('/auth/mfa/verify/', { body: { mfa_token: mfaToken, ...proof } }));
}

/** The second step of a login with one of the user's passkeys. */
export async function verifySecondFactorWithPasskey(mfaToken: string): Promise<ApiProblem | null> {
  try {
    const { data, error } = await loginOptionsApi.POST('/auth/mfa/webauthn/options/', {
      body: { mfa_token: mfaToken },
    });
    if (data === undefined) return problemFrom(error);
    return await verifySecondFactor(mfaToken, { webauthn: await signWithPasskey(data) });
  } catch (error) {
    return thrownProblem(error);
  }
}

/** Logs in with a passkey alone, no username typed; answers what went wrong, or null. */
export async function logInWithPasskey(): Promise<ApiProblem | null> {
  try {
    const { data, error } = await loginOptionsApi.POST('/auth/passkey/options/');
    if (data === undefined) return problemFrom(error);
    const response = await signWithPasskey(data.options);
    return await startSession(() =>
      sessionApi.POST('/auth/passkey/', { body: { challenge_token: data.challenge_token, response } }),
    );
  } catch (error) {
    return thrownProblem(error);
  }
}

/**
 * A fresh token of this session, as POST /auth/reauth/ answers it: used from now on. The session
 * keeps the new auth_time, so later refreshes keep it too; a refresh already on its way (with the
 * old auth_time) lands first.
 */
export function setReauthenticatedToken(token: string): Promise<void> {
  return serialized(async () => setToken(token));
}

/** Ends the session (the server forgets it and clears the cookie); answers what went wrong, or null. */
export function logOut(): Promise<ApiProblem | null> {
  return serialized(async () => {
    try {
      const { response, error } = await sessionApi.DELETE('/auth/session/');
      if (!response.ok) return problemFrom(error);
      setToken(null);
      return null;
    } catch {
      return networkProblem();
    }
  });
}

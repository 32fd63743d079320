/**
 * The browser session: the access token lives in memory only (never localStorage or
 * sessionStorage); the HttpOnly session cookie, which this code never sees, brings a new one after
 * a reload and shortly before each expiry.
 */
import createClient from 'openapi-fetch';
import { reactive, readonly } from 'vue';
import type { paths } from './api/schema';
import { networkProblem, problemFrom, type ApiProblem } from './api/errors';

export const API_URL = (import.meta.env.VITE_API_URL ?? '').replace(/\/$/, '');

/** The session routes only: the one place that sends credentials (the cookie) cross-origin. */
const sessionApi = createClient<paths>({ baseUrl: API_URL, credentials: 'include' });

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

/** Refresh this long before the token expires. */
const EARLY_SECONDS = 30;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;

function claimsOf(token: string): { user_id: number; username: string; is_staff: boolean; exp: number } {
  const payload = token.split('.')[1] ?? '';
  const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
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
  const lifetime = claims.exp * 1000 - Date.now();
  refreshTimer = setTimeout(() => void refresh(), Math.max(lifetime - EARLY_SECONDS * 1000, lifetime / 2, 1000));
}

let refreshing: Promise<boolean> | null = null;

/** A new access token from the session cookie (one request at a time); false when there is no session. */
export function refresh(): Promise<boolean> {
  refreshing ??= sessionApi
    .POST('/auth/session/refresh/')
    .then(({ data }) => {
      setToken(data?.token ?? null);
      return data !== undefined;
    })
    .catch(() => false)
    .finally(() => {
      refreshing = null;
      state.ready = true;
    });
  return refreshing;
}

/** Logs in with a session; answers what went wrong, or null. */
export async function logIn(username: string, password: string): Promise<ApiProblem | null> {
  try {
    const { data, error } = await sessionApi.POST('/auth/session/', { body: { username, password } });
    if (data === undefined) return problemFrom(error);
    setToken(data.token);
    return null;
  } catch {
    return networkProblem();
  }
}

/** Ends the session (the server forgets it and clears the cookie) and forgets the token. */
export async function logOut(): Promise<void> {
  try {
    await sessionApi.DELETE('/auth/session/');
  } finally {
    setToken(null);
  }
}

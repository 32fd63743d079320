import type { RequestIdVariables } from 'hono/request-id';
import type { Authentication } from './auth/tokens';
import type { Settings } from './config';
import type { Database } from './db/client';

/** Who made the request, read from the access token alone (no database read). */
export interface AuthUser {
  id: number;
  username: string;
  /** Staff per the token (and, with MFA_REQUIRED_FOR_STAFF, only after a second factor). */
  isStaff: boolean;
  tokenVersion: number;
  /** The token's `sid`: the browser session it belongs to. */
  sessionId: string | undefined;
  authentication: Authentication;
}

/** The Hono environment: the Worker's bindings and the per-request variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: RequestIdVariables & {
    settings: Settings;
    /** null for an anonymous request; set by the `authenticate` middleware. */
    user: AuthUser | null;
    /** This request's D1 session (read replicas, read-your-writes): see src/http/d1-session.ts. */
    db: Database;
  };
}

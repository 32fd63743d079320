import type { RequestIdVariables } from 'hono/request-id';
import type { Settings } from './config';

/** Who made the request, read from the access token alone (no database read). */
export interface AuthUser {
  id: number;
  username: string;
  isStaff: boolean;
}

/** The Hono environment: the Worker's bindings and the per-request variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: RequestIdVariables & {
    settings: Settings;
    /** null for an anonymous request; set by the `authenticate` middleware. */
    user: AuthUser | null;
  };
}

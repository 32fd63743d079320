/** The step-up rule: sensitive changes need a login (or re-authentication) within REAUTH_MAX_AGE. */
import type { Settings } from '../config';
import { reauthRequired } from '../drf/errors';
import type { AuthUser } from '../env';

export function requireRecentLogin(user: AuthUser, settings: Settings, now = new Date()): void {
  if (Math.floor(now.getTime() / 1000) - user.authentication.authTime > settings.reauthMaxAge) throw reauthRequired();
}

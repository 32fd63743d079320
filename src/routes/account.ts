/** The caller's account as D1 has it now, for routes that change what protects it or need staff. */
import type { Context } from 'hono';
import { inactiveCallerError, isStaffNow } from '../auth/permissions';
import { findStanding, findTokenUser } from '../db/users';
import { permissionDenied } from '../drf/errors';
import type { AppEnv, AuthUser } from '../env';

/**
 * The caller's row: factors and passkeys belong to a live account, so a deleted or deactivated
 * user's token gets 401 (one read; these routes are rare).
 */
export async function activeAccount(c: Context<AppEnv>, user: AuthUser) {
  const account = await findTokenUser(c.get('db'), user.id);
  const refused = inactiveCallerError(account);
  if (refused || !account) throw refused;
  return account;
}

/** 401 for a caller who is gone or deactivated, 403 for one who is not staff now (one read). */
export async function requireStaffNow(c: Context<AppEnv>, user: AuthUser) {
  const standing = await findStanding(c.get('db'), user.id);
  const inactive = inactiveCallerError(standing);
  if (inactive || !standing) throw inactive;
  if (!isStaffNow(user, standing)) throw permissionDenied();
}

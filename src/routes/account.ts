/** The caller's account as D1 has it now, for routes that change what protects it. */
import type { Context } from 'hono';
import { inactiveCallerError } from '../auth/permissions';
import { findTokenUser } from '../db/users';
import type { AppEnv, AuthUser } from '../env';

/**
 * The caller's row: factors and passkeys belong to a live account, so a deleted or deactivated
 * user's token gets 401 (one read; these routes are rare).
 */
export async function activeAccount(c: Context<AppEnv>, user: AuthUser) {
  const account = await findTokenUser(c.var.db, user.id);
  const refused = inactiveCallerError(account);
  if (refused || !account) throw refused;
  return account;
}

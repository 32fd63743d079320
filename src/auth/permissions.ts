/** DRF's permission checks: IsAuthenticatedOrReadOnly for writes, owner-or-staff for objects. */
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { AppEnv, AuthUser } from '../env';
import { notAuthenticated } from '../errors';

/** Refuses an anonymous request with 401; runs after `authenticate`. */
export const requireUser = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.var.user) throw notAuthenticated();
  await next();
});

/** The caller, on a route guarded by `requireUser`. */
export function caller(c: Context<AppEnv>): AuthUser {
  const user = c.var.user;
  if (!user) throw notAuthenticated();
  return user;
}

export const mayActOn = (user: AuthUser, ownerId: number) => user.isStaff || user.id === ownerId;

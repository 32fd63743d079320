/**
 * Who may do what, written once: "owner or staff" for a row in hand and as the SQL condition of a
 * guarded write, the staff rule, and the refusal for a caller whose account changed.
 *
 * A token says who its user was when it was issued. Staff rights need both the token's claim and
 * D1's `is_staff` now (a demoted user loses them at once; a promoted one gets them at the next
 * login), and every write needs a caller that D1 still holds as active.
 */
import { and, eq, or, sql, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { isActiveStaff, isActiveUser, type Visibility } from '../db/users';
import { userDisabled, userNotFound, type ApiError } from '../drf/errors';
import type { AuthUser } from '../env';

/** The caller's account as D1 has it now; undefined when the user is gone. */
export interface Standing {
  isActive: boolean;
  isStaff: boolean;
}

/** Staff now: the token says so and D1 still does. */
export const isStaffNow = (user: AuthUser, standing: Standing) => user.isStaff && standing.isStaff;

/** May `user` act on something that belongs to `ownerId`? */
export const isOwnerOrStaff = (user: AuthUser, ownerId: number, standing: Standing) =>
  user.id === ownerId || isStaffNow(user, standing);

/** 401 for a caller whose account is gone or deactivated; undefined for an active one. */
export function inactiveCallerError(standing: Standing | undefined): ApiError | undefined {
  if (!standing) return userNotFound();
  if (!standing.isActive) return userDisabled();
  return undefined;
}

/** The staff rule in SQL, checked against D1 in the statement that needs it. */
export const staffNowCondition = (user: AuthUser): SQL => (user.isStaff ? isActiveStaff(user.id) : sql`0`);

/** "Owner or staff" in SQL, over the row's owner column, for a caller D1 holds as active. */
export const ownerOrStaffCondition = (user: AuthUser, ownerColumn: SQLiteColumn): SQL =>
  and(isActiveUser(user.id), or(eq(ownerColumn, user.id), staffNowCondition(user)))!;

/** What `viewer` may read of the user row in the query: its own email, or everything as staff now. */
export const visibleTo = (viewer: AuthUser | null): Visibility =>
  viewer
    ? { email: sql`(users.id = ${viewer.id} or ${staffNowCondition(viewer)})`, accountState: staffNowCondition(viewer) }
    : { email: sql`0`, accountState: sql`0` };

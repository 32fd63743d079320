/**
 * "Owner or staff", written once: for a row in hand, and as the SQL condition of a guarded write.
 * The SQL form also checks the caller's standing in D1 within the same statement: a token says
 * who its user was when it was issued, not that the user still exists, is active, or is staff.
 */
import { and, eq, or, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { isActiveStaff, isActiveUser } from '../db/users';
import type { AuthUser } from '../env';

/** The caller's standing as D1 has it; undefined when the user is gone. */
export interface Standing {
  isActive: boolean;
  isStaff: boolean;
}

/** May `user` act on something that belongs to `ownerId`? Staff only while D1 still says so. */
export const isOwnerOrStaff = (user: AuthUser, ownerId: number, standing?: Standing) =>
  user.id === ownerId || (user.isStaff && (standing?.isStaff ?? true));

/** The same rule in SQL, over the row's owner column, for an active caller. */
export const ownerOrStaffCondition = (user: AuthUser, ownerColumn: SQLiteColumn): SQL =>
  and(
    isActiveUser(user.id),
    user.isStaff ? or(eq(ownerColumn, user.id), isActiveStaff(user.id)) : eq(ownerColumn, user.id),
  )!;

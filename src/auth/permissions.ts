/** "Owner or staff", written once: for a row in hand, and as the SQL condition of a guarded write. */
import { eq, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import type { AuthUser } from '../env';

/** May `user` act on something that belongs to `ownerId`? */
export const isOwnerOrStaff = (user: AuthUser, ownerId: number) => user.isStaff || user.id === ownerId;

/** The same rule in SQL, over the row's owner column: no condition for staff. */
export const ownerOrStaffCondition = (user: AuthUser, ownerColumn: SQLiteColumn): SQL | undefined =>
  user.isStaff ? undefined : eq(ownerColumn, user.id);

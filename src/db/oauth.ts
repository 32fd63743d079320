/**
 * The statements of the OpenID Connect provider (src/routes/oauth.ts): clients, consents, codes,
 * grants and refresh tokens. A grant lives while its row does, its user is active and at the
 * grant's token version, and before its end; revoking it deletes the row (its refresh tokens go
 * with it), and its access tokens stop working at their next use.
 */
import { and, asc, eq, inArray, isNull, lte, sql, type SQL } from 'drizzle-orm';
import type { Database } from './client';
import { oauthClients, oauthCodes, oauthConsents, oauthGrants, oauthRefreshTokens, users } from './schema';

/** What an ID token and userinfo may say of a user (by scope). */
const userClaimColumns = { username: users.username, email: users.email, emailVerified: users.emailVerified };

/** Expired codes and grants deleted by each new one: bounded work per request, and no cron job. */
const PRUNE_BATCH = 20;

/**
 * An exchanged code is kept this long past its expiry, so a replay within it still finds the
 * code and revokes what it issued (RFC 6749 §4.1.2).
 */
const USED_CODE_KEPT_MS = 24 * 60 * 60 * 1000;

export const findClient = (db: Database, clientId: string) =>
  db.query.oauthClients.findFirst({ where: eq(oauthClients.clientId, clientId) });

export type OAuthClient = typeof oauthClients.$inferSelect;

/** True in SQL while grant `grant` (an alias or the table) may be used at `now`. */
const grantIsLive = (grant: string, now: Date): SQL =>
  sql.raw(
    `(${grant}.expires_at > ${now.getTime()} and exists(select 1 from users as holder where holder.id = ${grant}.user_id and holder.is_active = 1 and holder.token_version = ${grant}.token_version))`,
  );

/** What the authorization endpoint needs of a signed-in user: standing, and what they allowed this client. */
export async function findUserAndConsent(db: Database, userId: number, clientId: string) {
  const [[user], [consent]] = await db.batch([
    db
      .select({ isActive: users.isActive, tokenVersion: users.tokenVersion })
      .from(users)
      .where(eq(users.id, userId))
      .limit(1),
    db
      .select({ scopes: oauthConsents.scopes })
      .from(oauthConsents)
      .where(and(eq(oauthConsents.userId, userId), eq(oauthConsents.clientId, clientId)))
      .limit(1),
  ]);
  return { user, consentedScopes: consent?.scopes };
}

/** Remembers that the user allowed these scopes (replacing what they allowed before). */
export const saveConsent = (db: Database, consent: { userId: number; clientId: string; scopes: string; now: Date }) =>
  db
    .insert(oauthConsents)
    .values({ userId: consent.userId, clientId: consent.clientId, scopes: consent.scopes, grantedAt: consent.now })
    .onConflictDoUpdate({
      target: [oauthConsents.userId, oauthConsents.clientId],
      set: { scopes: consent.scopes, grantedAt: consent.now },
    });

export type NewCode = Omit<typeof oauthCodes.$inferInsert, 'grantId'>;

/** The code's row, and the expired codes pruned, for the batch that issues it. */
export const storeCode = (db: Database, code: NewCode, now: Date) =>
  [
    db.insert(oauthCodes).values(code),
    db.delete(oauthCodes).where(
      inArray(
        oauthCodes.codeHash,
        db
          .select({ codeHash: oauthCodes.codeHash })
          .from(oauthCodes)
          .where(lte(oauthCodes.expiresAt, new Date(now.getTime() - USED_CODE_KEPT_MS)))
          .orderBy(oauthCodes.expiresAt)
          .limit(PRUNE_BATCH),
      ),
    ),
  ] as const;

/** A code, with what its ID token says of the user and whether the user may still sign in. */
export async function findCode(db: Database, codeHash: string) {
  const [row] = await db
    .select({
      code: oauthCodes,
      user: {
        id: users.id,
        ...userClaimColumns,
        isActive: users.isActive,
        tokenVersion: users.tokenVersion,
      },
    })
    .from(oauthCodes)
    .innerJoin(users, eq(users.id, oauthCodes.userId))
    .where(eq(oauthCodes.codeHash, codeHash))
    .limit(1);
  return row;
}

export type StoredCode = typeof oauthCodes.$inferSelect;

/** The scopes of the grant a refresh token belongs to (to check a narrower `scope` asked with it). */
export async function findRefreshScopes(db: Database, tokenHash: string): Promise<string | undefined> {
  const [row] = await db
    .select({ scopes: oauthGrants.scopes })
    .from(oauthRefreshTokens)
    .innerJoin(oauthGrants, eq(oauthGrants.id, oauthRefreshTokens.grantId))
    .where(eq(oauthRefreshTokens.tokenHash, tokenHash))
    .limit(1);
  return row?.scopes;
}

const pruneExpiredGrants = (db: Database, now: Date) =>
  db
    .delete(oauthGrants)
    .where(
      inArray(
        oauthGrants.id,
        db
          .select({ id: oauthGrants.id })
          .from(oauthGrants)
          .where(lte(oauthGrants.expiresAt, now))
          .orderBy(oauthGrants.expiresAt)
          .limit(PRUNE_BATCH),
      ),
    );

export interface NewGrant {
  id: string;
  /** The user's token version now (read with the user, just before). */
  tokenVersion: number;
  expiresAt: Date;
  /** The hash of the first refresh token, for a grant with `offline_access`. */
  refreshHash: string | undefined;
  now: Date;
}

/**
 * Exchanges a code for a grant, in one round trip: the code is marked with the grant only if no
 * exchange marked it before, and the grant (and its first refresh token) is stored only if this
 * one did. False when another exchange won: the caller treats it as a replay.
 */
export async function exchangeCode(db: Database, code: StoredCode, grant: NewGrant): Promise<boolean> {
  const claimed = db
    .update(oauthCodes)
    .set({ grantId: grant.id })
    .where(and(eq(oauthCodes.codeHash, code.codeHash), isNull(oauthCodes.grantId)))
    .returning({ codeHash: oauthCodes.codeHash });
  const isOurs = sql`exists(select 1 from oauth_codes as claimed where claimed.code_hash = ${code.codeHash} and claimed.grant_id = ${grant.id})`;
  // In the columns' order.
  const storeGrant = db.insert(oauthGrants).select(
    sql`select ${grant.id}, ${code.clientId}, ${code.userId}, ${code.scopes}, ${code.authTime.getTime()}, ${code.amr},
        ${grant.now.getTime()}, ${grant.expiresAt.getTime()}, ${grant.tokenVersion} where ${isOurs}`,
  );
  const storeRefresh =
    grant.refreshHash === undefined
      ? []
      : [db.insert(oauthRefreshTokens).select(sql`select ${grant.refreshHash}, ${grant.id}, null where ${isOurs}`)];
  const [won] = await db.batch([claimed, storeGrant, ...storeRefresh, pruneExpiredGrants(db, grant.now)]);
  return won.length === 1;
}

/** Ends a grant: its refresh tokens go with the row, its access tokens fail their live check. */
export const revokeGrant = (db: Database, grantId: string) => db.delete(oauthGrants).where(eq(oauthGrants.id, grantId));

/** The grant and user an OAuth access token names, if the grant is live and is that user's and client's. */
export async function findLiveGrant(
  db: Database,
  { grantId, userId, clientId }: { grantId: string; userId: number; clientId: string },
  now = new Date(),
) {
  const [row] = await db
    .select({ ...userClaimColumns, tokenVersion: users.tokenVersion })
    .from(oauthGrants)
    .innerJoin(users, eq(users.id, oauthGrants.userId))
    .where(
      and(
        eq(oauthGrants.id, grantId),
        eq(oauthGrants.userId, userId),
        eq(oauthGrants.clientId, clientId),
        grantIsLive('oauth_grants', now),
      ),
    )
    .limit(1);
  return row;
}

export interface RefreshedGrant {
  id: string;
  userId: number;
  scopes: string;
  authTime: Date;
  amr: string;
  username: string;
  email: string;
  emailVerified: boolean;
}

/**
 * A refresh-token rotation, in one round trip (RFC 9700 §4.14.2): a token replaced before, presented
 * again, ends its whole grant (a stolen copy and its owner's both stop working); a current one of
 * this client's live grant is replaced by `nextHash`, and the grant is answered. Nothing answers
 * for an unknown, reused, other client's or dead grant's token.
 */
export async function rotateRefreshToken(
  db: Database,
  { presentedHash, nextHash, clientId, now }: { presentedHash: string; nextHash: string; clientId: string; now: Date },
): Promise<{ grant: RefreshedGrant | undefined; reused: boolean }> {
  const endReusedGrant = db
    .delete(oauthGrants)
    .where(
      sql`${oauthGrants.id} = (select presented.grant_id from oauth_refresh_tokens as presented where presented.token_hash = ${presentedHash} and presented.replaced_at is not null)`,
    )
    .returning({ id: oauthGrants.id });
  const retire = db
    .update(oauthRefreshTokens)
    .set({ replacedAt: now })
    .where(
      and(
        eq(oauthRefreshTokens.tokenHash, presentedHash),
        isNull(oauthRefreshTokens.replacedAt),
        sql`exists(select 1 from oauth_grants as grant_row where grant_row.id = ${oauthRefreshTokens.grantId} and grant_row.client_id = ${clientId} and ${grantIsLive('grant_row', now)})`,
      ),
    )
    .returning({ grantId: oauthRefreshTokens.grantId });
  const storeSuccessor = db
    .insert(oauthRefreshTokens)
    .select(
      sql`select ${nextHash}, presented.grant_id, null from oauth_refresh_tokens as presented where presented.token_hash = ${presentedHash} and presented.replaced_at = ${now.getTime()} and changes() > 0`,
    );
  const answer = db
    .select({
      id: oauthGrants.id,
      userId: oauthGrants.userId,
      scopes: oauthGrants.scopes,
      authTime: oauthGrants.authTime,
      amr: oauthGrants.amr,
      ...userClaimColumns,
    })
    .from(oauthRefreshTokens)
    .innerJoin(oauthGrants, eq(oauthGrants.id, oauthRefreshTokens.grantId))
    .innerJoin(users, eq(users.id, oauthGrants.userId))
    .where(and(eq(oauthRefreshTokens.tokenHash, nextHash), isNull(oauthRefreshTokens.replacedAt)));
  const [ended, , , [grant]] = await db.batch([endReusedGrant, retire, storeSuccessor, answer]);
  return { grant, reused: ended.length > 0 };
}

/** RFC 7009: ends the grant of a refresh token, if it is this client's. */
export const revokeByRefreshToken = (db: Database, tokenHash: string, clientId: string) =>
  db
    .delete(oauthGrants)
    .where(
      and(
        eq(oauthGrants.clientId, clientId),
        sql`${oauthGrants.id} = (select presented.grant_id from oauth_refresh_tokens as presented where presented.token_hash = ${tokenHash})`,
      ),
    );

/** A user's consents, with each client's name, oldest first. */
export const listConsents = (db: Database, userId: number) =>
  db
    .select({
      clientId: oauthConsents.clientId,
      name: oauthClients.name,
      scopes: oauthConsents.scopes,
      grantedAt: oauthConsents.grantedAt,
    })
    .from(oauthConsents)
    .innerJoin(oauthClients, eq(oauthClients.clientId, oauthConsents.clientId))
    .where(eq(oauthConsents.userId, userId))
    .orderBy(asc(oauthConsents.grantedAt))
    .limit(1000);

/** Withdraws a consent: the statements that delete it and end that client's grants for the user. */
export const revokeConsent = (db: Database, userId: number, clientId: string) =>
  [
    db
      .delete(oauthConsents)
      .where(and(eq(oauthConsents.userId, userId), eq(oauthConsents.clientId, clientId)))
      .returning({ clientId: oauthConsents.clientId }),
    db.delete(oauthGrants).where(and(eq(oauthGrants.userId, userId), eq(oauthGrants.clientId, clientId))),
  ] as const;

/**
 * Security notices (SPEC.md): mailed after the response, never delaying or failing it, to the
 * account's address only if its owner verified it (an unverified one may be anyone's).
 */
import type { Context } from 'hono';
import { findNoticeAddress } from '../db/users';
import type { AppEnv } from '../env';
import { sendAfterResponse } from './mailer';
import { securityNotice, type NoticeKind } from './messages';

export const noticeAfterResponse = (c: Context<AppEnv>, userId: number, kind: NoticeKind, detail?: string) =>
  sendAfterResponse(c, async () => {
    const account = await findNoticeAddress(c.get('db'), userId);
    if (!account?.emailVerified || account.email === '') return undefined;
    return securityNotice(kind, account.email, account.username, detail);
  });

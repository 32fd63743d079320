/**
 * The Cron Trigger ([triggers] crons in wrangler.toml): deletes audit events older than
 * AUDIT_RETENTION_DAYS. In batches, each one statement on the index of `at`, up to a bound per
 * run: an hourly run keeps up with far more events than any login rate makes, and a backlog
 * (after lowering the retention) is worked off over the following runs, never in one long write.
 */
import { getSettings } from './config';
import { pruneEvents } from './db/audit';
import { getDb } from './db/client';

export const PRUNE_BATCH = 500;
export const MAX_BATCHES_PER_RUN = 20;

export async function pruneAuditLog(env: Env, now: Date): Promise<number> {
  const settings = getSettings(env);
  const before = new Date(now.getTime() - settings.auditRetentionDays * 86_400_000);
  const db = getDb(env.DB);
  let deleted = 0;
  for (let batch = 0; batch < MAX_BATCHES_PER_RUN; batch++) {
    const count = await pruneEvents(db, before, PRUNE_BATCH);
    deleted += count;
    if (count < PRUNE_BATCH) break;
  }
  console.log(JSON.stringify({ message: 'Pruned the audit log', deleted, before: before.toISOString() }));
  return deleted;
}

export const scheduled: ExportedHandlerScheduledHandler<Env> = async (controller, env) => {
  await pruneAuditLog(env, new Date(controller.scheduledTime));
};

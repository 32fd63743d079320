import type { Context } from 'hono';
import type { AppEnv } from '../env';

/**
 * Runs `work` after the response is on its way (`waitUntil`), so the client never waits on it;
 * a failure is logged as `what failed` with the request id and `reason` (never a message, which
 * may quote user data). Without an execution context (app.request() in a test) it runs inline.
 */
export async function afterResponse(
  c: Context<AppEnv>,
  what: string,
  work: () => Promise<unknown>,
  reason: (error: unknown) => string = (error) => (error instanceof Error ? error.name : typeof error),
): Promise<void> {
  const requestId = c.get('requestId');
  const running = work().catch((error: unknown) => {
    console.error(JSON.stringify({ requestId, message: `${what} failed`, reason: reason(error) }));
  });
  let waitUntil: ((promise: Promise<unknown>) => void) | undefined;
  try {
    const executionCtx = c.executionCtx;
    waitUntil = (promise) => executionCtx.waitUntil(promise);
  } catch {
    waitUntil = undefined;
  }
  if (waitUntil) waitUntil(running);
  else await running;
}

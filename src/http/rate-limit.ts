/**
 * Rate limits on the auth routes, with the Workers Rate Limiting bindings of wrangler.toml. A
 * missing binding means no limit. The binding does not say when a key frees up, so Retry-After
 * is the longest period Cloudflare allows.
 */
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env';
import { detail } from '../drf/errors';

const RETRY_AFTER_SECONDS = 60;

type LimiterName = 'RATE_LIMIT_IP' | 'RATE_LIMIT_USERNAME';

/** 429 in DRF's words when `key` has used up its budget on the limiter. */
export async function throttle(c: Context<AppEnv>, limiter: LimiterName, key: string): Promise<void> {
  const binding = c.env[limiter] as RateLimit | undefined;
  if (!binding) return;
  const { success } = await binding.limit({ key });
  if (!success) {
    throw detail(429, `Request was throttled. Expected available in ${RETRY_AFTER_SECONDS} seconds.`, {
      'Retry-After': String(RETRY_AFTER_SECONDS),
    });
  }
}

/** Limits each client IP on one route (`scope`) before the route does any work. */
export const limitPerIp = (scope: string) =>
  createMiddleware<AppEnv>(async (c, next) => {
    await throttle(c, 'RATE_LIMIT_IP', `${scope}:${c.req.header('CF-Connecting-IP') ?? 'unknown'}`);
    await next();
  });

import type { Hono } from 'hono';
import type { AppEnv } from '../env';
import { methodNotAllowed } from '../errors';

/**
 * Gives every registered path an answer for the methods it does not serve: OPTIONS lists the
 * allowed methods (204 with `Allow`), anything else is DRF's 405. Call it after the last route.
 */
export function answerOtherMethods(app: Hono<AppEnv>): void {
  const methodsByPath = new Map<string, Set<string>>();
  for (const { method, path } of app.routes) {
    if (method === 'ALL') continue; // middleware
    const methods = methodsByPath.get(path) ?? new Set<string>();
    methods.add(method);
    if (method === 'GET') methods.add('HEAD');
    methodsByPath.set(path, methods);
  }
  for (const [path, methods] of methodsByPath) {
    const allowed = [...methods, 'OPTIONS'];
    app.all(path, (c) => {
      if (c.req.method === 'OPTIONS') return c.body(null, 204, { Allow: allowed.join(', ') });
      throw methodNotAllowed(c.req.method, allowed);
    });
  }
}

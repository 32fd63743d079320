/** Builds the Hono app: middleware, one route() per resource, the error and not-found handlers. */
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { getSettings, type Settings } from './config';
import type { AppEnv } from './env';
import { detail, notFound, renderError } from './errors';
import { answerOtherMethods } from './http/methods';
import { authRoutes } from './routes/auth';
import { docsRoutes } from './routes/docs';
import { rootRoutes } from './routes/root';
import { tasksRoutes } from './routes/tasks';
import { usersRoutes } from './routes/users';

export const MAX_BODY_BYTES = 64 * 1024;

const corsBySettings = new WeakMap<Settings, MiddlewareHandler>();

/** CORS for the origins in CORS_ALLOWED_ORIGINS; no CORS headers at all when it is empty. */
const corsFromSettings: MiddlewareHandler<AppEnv> = async (c, next) => {
  const settings = c.var.settings;
  if (settings.corsAllowedOrigins.length === 0) return next();
  let middleware = corsBySettings.get(settings);
  if (!middleware) {
    const origins = settings.corsAllowedOrigins;
    middleware = cors({
      origin: origins.includes('*') ? '*' : [...origins],
      allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      allowHeaders: ['Authorization', 'Content-Type'],
      exposeHeaders: ['Retry-After', 'WWW-Authenticate'],
      maxAge: 600,
    });
    corsBySettings.set(settings, middleware);
  }
  return middleware(c, next);
};

export function createApp(): Hono<AppEnv> {
  // strict: false makes every path answer with and without its trailing slash.
  const app = new Hono<AppEnv>({ strict: false });

  app.use(async (c, next) => {
    c.set('settings', getSettings(c.env));
    await next();
  });
  app.use(corsFromSettings);
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw detail(413, `Request body is too large (limit ${MAX_BODY_BYTES} bytes).`);
      },
    }),
  );

  app.route('/', rootRoutes);
  app.route('/', authRoutes);
  app.route('/tasks', tasksRoutes);
  app.route('/users', usersRoutes);
  app.route('/', docsRoutes);
  answerOtherMethods(app);

  app.notFound(() => {
    throw notFound();
  });
  app.onError(renderError);
  return app;
}

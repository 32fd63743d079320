/** Builds the Hono app: middleware, one route() per resource, the error and not-found handlers. */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { getSettings } from './config';
import type { AppEnv } from './env';
import { detail, notFound, renderError } from './errors';
import { corsFromSettings } from './http/cors';
import { answerOtherMethods } from './http/methods';
import { authRoutes } from './routes/auth';
import { docsRoutes } from './routes/docs';
import { jwksRoutes } from './routes/jwks';
import { rootRoutes } from './routes/root';
import { tasksRoutes } from './routes/tasks';
import { usersRoutes } from './routes/users';

export const MAX_BODY_BYTES = 64 * 1024;

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
  app.route('/', jwksRoutes);
  answerOtherMethods(app);

  app.notFound(() => {
    throw notFound();
  });
  app.onError(renderError);
  return app;
}

/**
 * The task resource, as the tutorial's TaskViewSet: anyone reads, writes need a token, and only
 * the owner or staff may change or delete a task. Every request is one D1 round trip.
 */
import { and, count, eq, type SQL } from 'drizzle-orm';
import { Hono, type Context } from 'hono';
import * as z from 'zod';
import { authenticate } from '../auth/middleware';
import { caller, mayActOn, requireUser } from '../auth/permissions';
import type { Settings } from '../config';
import { formatDateTime } from '../datetime';
import { getDb, isConstraintViolation, type Database } from '../db/client';
import { tasks, type Task } from '../db/schema';
import type { AppEnv, AuthUser } from '../env';
import { ApiError, fieldErrors, notFound, permissionDenied } from '../errors';
import { charField, dateTimeField, primaryKeyField, queryIntegerField } from '../fields';
import { orderingQuery } from '../http/ordering';
import { paginate, paginationQuery } from '../http/pagination';
import type { Operation } from '../openapi/document';
import { validate, validBody } from '../validate';

const taskInput = z.object({
  title: charField({ maxLength: 100 }),
  person: primaryKeyField().optional(),
  due_to: dateTimeField(),
});
const taskPatchInput = taskInput.partial();

const taskListQuery = z.object({
  ...paginationQuery,
  person: queryIntegerField().meta({ description: 'Only the tasks of this user id.' }),
  ordering: orderingQuery({ due_to: tasks.dueTo, title: tasks.title, id: tasks.id }, tasks.id),
});

function serializeTask(task: Task, settings: Settings) {
  return {
    id: task.id,
    url: `${settings.siteUrl}/tasks/${task.id}/`,
    title: task.title,
    person: task.personId,
    due_to: formatDateTime(task.dueTo),
  };
}

/** The numeric id in the path (the route pattern only matches digits). */
function taskId(c: Context<AppEnv>): number {
  const id = Number(c.req.param('id'));
  if (!Number.isSafeInteger(id)) throw notFound();
  return id;
}

/** 400 for a `person` that names no user: the foreign key refuses it inside the write itself. */
async function unknownPersonIsFieldError<T>(person: number | undefined, write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    if (person !== undefined && isConstraintViolation(error, 'FOREIGN KEY constraint failed')) {
      throw fieldErrors({ person: [`Invalid pk "${person}" - object does not exist.`] });
    }
    throw error;
  }
}

/** 404 when the task does not exist, 403 when the caller may not change it. */
async function assertMayChange(db: Database, id: number, user: AuthUser): Promise<void> {
  const [task] = await db.select({ personId: tasks.personId }).from(tasks).where(eq(tasks.id, id));
  if (!task) throw notFound();
  if (!mayActOn(user, task.personId)) throw permissionDenied();
}

/**
 * The body, validated. As in DRF, a caller who may not change the task learns that (404 or 403)
 * rather than what is wrong with the body; that costs a read on this error path only.
 */
async function validChanges<T extends z.ZodType>(c: Context<AppEnv>, schema: T, id: number, user: AuthUser) {
  try {
    return await validBody(c, schema);
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) await assertMayChange(getDb(c.env.DB), id, user);
    throw error;
  }
}

/** The condition that limits a write to tasks the caller may change. */
const changeableBy = (user: AuthUser, id: number): SQL | undefined =>
  user.isStaff ? eq(tasks.id, id) : and(eq(tasks.id, id), eq(tasks.personId, user.id));

export const tasksRoutes = new Hono<AppEnv>();
tasksRoutes.use(authenticate);

tasksRoutes.get('/', async (c) => {
  const { limit, offset, person, ordering } = validate(taskListQuery, c.req.query());
  const db = getDb(c.env.DB);
  const where = person === undefined ? undefined : eq(tasks.personId, person);
  const [[total], rows] = await db.batch([
    db.select({ count: count() }).from(tasks).where(where),
    db
      .select()
      .from(tasks)
      .where(where)
      .orderBy(...ordering)
      .limit(limit)
      .offset(offset),
  ]);
  const settings = c.var.settings;
  const results = rows.map((task) => serializeTask(task, settings));
  return c.json(
    paginate(
      results,
      { count: total!.count, limit, offset },
      { siteUrl: settings.siteUrl, path: '/tasks/', requestUrl: c.req.url },
    ),
  );
});

tasksRoutes.post('/', requireUser, async (c) => {
  const user = caller(c);
  const input = await validBody(c, taskInput);
  const person = input.person ?? user.id;
  if (!mayActOn(user, person)) throw permissionDenied();
  const [task] = await unknownPersonIsFieldError(
    input.person,
    getDb(c.env.DB).insert(tasks).values({ title: input.title, personId: person, dueTo: input.due_to }).returning(),
  );
  return c.json(serializeTask(task!, c.var.settings), 201);
});

tasksRoutes.get('/:id{[0-9]+}', async (c) => {
  const [task] = await getDb(c.env.DB)
    .select()
    .from(tasks)
    .where(eq(tasks.id, taskId(c)));
  if (!task) throw notFound();
  return c.json(serializeTask(task, c.var.settings));
});

async function updateTask(c: Context<AppEnv>, schema: typeof taskInput | typeof taskPatchInput) {
  const user = caller(c);
  const id = taskId(c);
  const input = await validChanges(c, schema, id, user);
  if (input.person !== undefined && !mayActOn(user, input.person)) throw permissionDenied();
  const db = getDb(c.env.DB);
  const changes = { title: input.title, personId: input.person, dueTo: input.due_to };
  const hasChanges = Object.values(changes).some((value) => value !== undefined);
  // One round trip: the read tells 404 from 403 when the guarded write touches nothing.
  const [[existing], [updated]] = await unknownPersonIsFieldError(
    input.person,
    db.batch([
      db.select({ personId: tasks.personId }).from(tasks).where(eq(tasks.id, id)),
      hasChanges
        ? db.update(tasks).set(changes).where(changeableBy(user, id)).returning()
        : db.select().from(tasks).where(changeableBy(user, id)),
    ]),
  );
  if (!existing) throw notFound();
  if (!updated) throw permissionDenied();
  return c.json(serializeTask(updated, c.var.settings));
}

tasksRoutes.put('/:id{[0-9]+}', requireUser, (c) => updateTask(c, taskInput));
tasksRoutes.patch('/:id{[0-9]+}', requireUser, (c) => updateTask(c, taskPatchInput));

tasksRoutes.delete('/:id{[0-9]+}', requireUser, async (c) => {
  const user = caller(c);
  const id = taskId(c);
  const db = getDb(c.env.DB);
  const [[existing], [deleted]] = await db.batch([
    db.select({ personId: tasks.personId }).from(tasks).where(eq(tasks.id, id)),
    db.delete(tasks).where(changeableBy(user, id)).returning({ id: tasks.id }),
  ]);
  if (!existing) throw notFound();
  if (!deleted) throw permissionDenied();
  return c.body(null, 204);
});

const writeErrors = { 400: 'FieldErrors', 401: 'Detail', 403: 'Detail', 404: 'Detail' } as const;

export const taskOperations: Operation[] = [
  {
    method: 'get',
    path: '/tasks/',
    tag: 'tasks',
    summary: 'List tasks',
    auth: 'optional',
    query: taskListQuery,
    responses: { 200: 'TaskPage', 400: 'FieldErrors', 401: 'Detail' },
  },
  {
    method: 'post',
    path: '/tasks/',
    tag: 'tasks',
    summary: 'Create a task',
    description: '`person` defaults to the caller; only staff may name another user.',
    auth: 'required',
    body: taskInput,
    responses: { 201: 'Task', 400: 'FieldErrors', 401: 'Detail', 403: 'Detail' },
  },
  {
    method: 'get',
    path: '/tasks/{id}/',
    tag: 'tasks',
    summary: 'Read a task',
    auth: 'optional',
    responses: { 200: 'Task', 401: 'Detail', 404: 'Detail' },
  },
  {
    method: 'put',
    path: '/tasks/{id}/',
    tag: 'tasks',
    summary: 'Replace a task (owner or staff)',
    auth: 'required',
    body: taskInput,
    responses: { 200: 'Task', ...writeErrors },
  },
  {
    method: 'patch',
    path: '/tasks/{id}/',
    tag: 'tasks',
    summary: 'Change some fields of a task (owner or staff)',
    auth: 'required',
    body: taskPatchInput,
    responses: { 200: 'Task', ...writeErrors },
  },
  {
    method: 'delete',
    path: '/tasks/{id}/',
    tag: 'tasks',
    summary: 'Delete a task (owner or staff)',
    auth: 'required',
    responses: { 204: null, 401: 'Detail', 403: 'Detail', 404: 'Detail' },
  },
];

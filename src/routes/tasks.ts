/**
 * The task resource, as the tutorial's TaskViewSet: anyone reads, writes need a token, and only
 * the owner or staff may change or delete a task. Every request is one D1 round trip on its
 * normal path (an error path may read once more to say why), and each write checks its caller in
 * D1 inside the same statement: a token outlives its user's state.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import * as z from 'zod';
import { auditStatement } from '../audit/record';
import {
  inactiveCallerError,
  isOwnerOrStaff,
  ownerOrStaffCondition,
  staffNowCondition,
  type Standing,
} from '../auth/permissions';
import type { Settings } from '../config';
import { isConstraintViolation, type Database } from '../db/client';
import { tasks, users, type Task } from '../db/schema';
import { findStanding } from '../db/users';
import { formatDateTime } from '../drf/datetime';
import { ApiError, fieldErrors, notFound, permissionDenied } from '../drf/errors';
import {
  charField,
  dateTimeField,
  INVALID_CHOICE,
  primaryKeyField,
  queryUserIdField,
  TITLE_MAX_LENGTH,
} from '../drf/fields';
import { cursorPage, cursorQuery, cursorRows, decodeCursor } from '../drf/cursor-pagination';
import { orderingQuery } from '../drf/ordering';
import { paginationQuery } from '../drf/pagination';
import type { AppEnv, AuthUser } from '../env';
import { defineRoute } from '../http/route';
import { countTasks } from '../db/counts';
import { fetchPage, pageResponse } from './list-page';

const taskInput = z.object({
  title: charField({ maxLength: TITLE_MAX_LENGTH }),
  person: primaryKeyField().optional(),
  due_to: dateTimeField(),
});
const taskPatchInput = taskInput.partial();
type TaskChanges = z.output<typeof taskPatchInput>;

const taskListQuery = z.object({
  ...paginationQuery,
  person: queryUserIdField().meta({ description: 'Only the tasks of this user id.' }),
  ordering: orderingQuery({ due_to: tasks.dueTo, title: tasks.title, id: tasks.id }, 'id'),
  cursor: cursorQuery,
});

/** A task's value of each ordering key, for its cursor. */
const TASK_KEYS = new Map<string, (task: Task) => string | number>([
  ['due_to', (task) => task.dueTo],
  ['title', (task) => task.title],
  ['id', (task) => task.id],
]);

function serializeTask(task: Task, settings: Settings) {
  return {
    id: task.id,
    url: `${settings.siteUrl}/tasks/${task.id}/`,
    title: task.title,
    person: task.personId,
    due_to: formatDateTime(task.dueTo),
  };
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

/**
 * The owner of task `id` (null when there is no such task) and the caller's standing, read from
 * the caller's own row: no row at all means the caller's user is gone.
 */
const guardRow = (db: Database, user: AuthUser, id: number) =>
  db
    .select({
      ownerId: sql<number | null>`(select t.person_id from tasks as t where t.id = ${id})`.as('owner_id'),
      isActive: users.isActive,
      isStaff: users.isStaff,
    })
    .from(users)
    .where(eq(users.id, user.id));

type Guard = { ownerId: number | null } & Standing;

/** Why the caller may not change task `id` (and give it to `newOwner`), or undefined when it may. */
function refusal(guard: Guard | undefined, user: AuthUser, newOwner?: number): ApiError | undefined {
  const inactive = inactiveCallerError(guard);
  if (inactive || !guard) return inactive;
  if (guard.ownerId === null) return notFound();
  const mayChange = isOwnerOrStaff(user, guard.ownerId, guard);
  const mayGive = newOwner === undefined || isOwnerOrStaff(user, newOwner, guard);
  return mayChange && mayGive ? undefined : permissionDenied();
}

/**
 * As DRF, which finds the object and checks permissions before it reads the body: a caller who
 * may not change the task learns that (401, 404 or 403) first. Costs a read on error paths only.
 */
async function refuseFirst(c: Context<AppEnv>, user: AuthUser, id: number, error: ApiError): Promise<never> {
  const [guard] = await guardRow(c.get('db'), user, id);
  throw refusal(guard, user) ?? error;
}

/**
 * The condition that limits a write to task `id` when the caller may change it now, and give it
 * to `newOwner` (only staff, as D1 says now, gives a task to someone else).
 */
const changeableBy = (user: AuthUser, id: number, newOwner?: number) =>
  and(
    eq(tasks.id, id),
    ownerOrStaffCondition(user, tasks.personId),
    newOwner === undefined || newOwner === user.id ? undefined : staffNowCondition(user),
  );

/**
 * For a caller whose token says staff, the event of a write on another person's task (or of
 * giving a task to someone else): written before the write, under the write's own condition, so
 * that it names the owner as they were. Nothing for anyone else.
 */
function staffTaskEvent(
  c: Context<AppEnv>,
  user: AuthUser,
  kind: 'staff.task_changed' | 'staff.task_deleted',
  id: number,
  newOwner?: number,
) {
  if (!user.isStaff) return [];
  const othersTask = sql`(${tasks.personId} <> ${user.id} or ${newOwner ?? user.id} <> ${user.id})`;
  const affected = sql`exists(select 1 from ${tasks} where ${and(changeableBy(user, id, newOwner), othersTask)})`;
  const owner = sql`(select t.person_id from tasks as t where t.id = ${id})`;
  return [
    auditStatement(c, { kind, actor: user, subject: { id: owner }, details: { task: id, person: newOwner } }, affected),
  ];
}

async function updateTask(c: Context<AppEnv>, user: AuthUser, id: number, readBody: () => Promise<TaskChanges>) {
  const input = await readBody().catch((error: unknown) =>
    error instanceof ApiError ? refuseFirst(c, user, id, error) : Promise.reject(error),
  );
  const db = c.get('db');
  const changes = { title: input.title, personId: input.person, dueTo: input.due_to };
  const hasChanges = Object.values(changes).some((value) => value !== undefined);
  // One round trip: the guard tells 401, 404 and 403 apart when the guarded write touches nothing.
  const results = await unknownPersonIsFieldError(
    input.person,
    db.batch([
      guardRow(db, user, id),
      ...(hasChanges ? staffTaskEvent(c, user, 'staff.task_changed', id, input.person) : []),
      hasChanges
        ? db
            .update(tasks)
            .set(changes)
            .where(changeableBy(user, id, input.person))
            .returning()
        : db.select().from(tasks).where(changeableBy(user, id)),
    ]),
  );
  const [guard] = results[0];
  const [updated] = results[results.length - 1] as Task[];
  if (!updated) throw refusal(guard, user, input.person) ?? notFound();
  return c.json(serializeTask(updated, c.get('settings')));
}

const writeRoute = (method: 'put' | 'patch', summary: string, body: typeof taskInput | typeof taskPatchInput) =>
  defineRoute({
    method,
    path: '/tasks/{id}/',
    tag: 'tasks',
    summary,
    auth: 'required',
    oauthScope: 'tasks.write',
    body,
    responses: { 200: 'Task', 403: 'Detail' },
    handler: (c, { user, id, body: readBody }) => updateTask(c, user, id(), readBody),
  });

export const taskRoutes = [
  defineRoute({
    method: 'get',
    path: '/tasks/',
    tag: 'tasks',
    summary: 'List tasks',
    auth: 'optional',
    oauthScope: 'tasks.read',
    query: taskListQuery,
    responses: { 200: 'TaskPage', 404: 'Detail' },
    handler: async (c, { query }) => {
      const { limit, offset, person, ordering, cursor } = query;
      const db = c.get('db');
      const where = person === undefined ? undefined : eq(tasks.personId, person);
      if (cursor !== undefined) {
        const position = await decodeCursor(c.get('settings'), ordering, cursor);
        const { total, rows } = await fetchPage(
          db,
          countTasks(db, person),
          cursorRows((after) => db.select().from(tasks).where(and(where, after)).$dynamic(), ordering, position, limit),
        );
        if (!total.personExists) throw fieldErrors({ person: [INVALID_CHOICE] });
        return cursorPage(
          c,
          { path: '/tasks/', ordering, limit, position },
          rows,
          (task) => ordering.keys.map(({ name }) => TASK_KEYS.get(name)!(task)),
          (task) => serializeTask(task, c.get('settings')),
        );
      }
      const { total, rows } = await fetchPage(
        db,
        countTasks(db, person),
        db
          .select()
          .from(tasks)
          .where(where)
          .orderBy(...ordering.terms)
          .limit(limit)
          .offset(offset),
      );
      // django-filter refuses a user that does not exist rather than answering an empty page.
      if (!total.personExists) throw fieldErrors({ person: [INVALID_CHOICE] });
      const results = rows.map((task) => serializeTask(task, c.get('settings')));
      return pageResponse(c, { path: '/tasks/', limit, offset }, total.count, results);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/tasks/',
    tag: 'tasks',
    summary: 'Create a task',
    description: '`person` defaults to the caller; only staff may name another user.',
    auth: 'required',
    oauthScope: 'tasks.write',
    body: taskInput,
    responses: { 201: 'Task', 403: 'Detail' },
    handler: async (c, { user, body }) => {
      const db = c.get('db');
      // As DRF, a caller who is gone or deactivated learns that before what is wrong with the body.
      const input = await body().catch(async (error: unknown) => {
        if (error instanceof ApiError) throw inactiveCallerError(await findStanding(db, user.id)) ?? error;
        throw error;
      });
      const person = input.person ?? user.id;
      // INSERT ... SELECT ... FROM users WHERE id = caller: nothing is written for a caller who is
      // gone or inactive, nor for another person unless D1 still says the caller is staff.
      const insert = db
        .insert(tasks)
        .select(
          db
            .select({
              id: sql<number>`null`.as('id'),
              title: sql<string>`${input.title}`.as('title'),
              personId: sql<number>`${person}`.as('person_id'),
              dueTo: sql<string>`${input.due_to}`.as('due_to'),
            })
            .from(users)
            .where(
              and(
                eq(users.id, user.id),
                eq(users.isActive, true),
                person === user.id ? undefined : staffNowCondition(user),
              ),
            ),
        )
        .returning();
      // A task for someone else is a staff action: its event follows the insert in one batch.
      const write =
        person === user.id
          ? insert
          : db
              .batch([
                insert,
                auditStatement(
                  c,
                  { kind: 'staff.task_created', actor: user, subject: { id: person }, details: { title: input.title } },
                  'ifChanged',
                ),
              ])
              .then(([inserted]) => inserted);
      const [task] = await unknownPersonIsFieldError(input.person, write);
      if (!task) {
        // Why nothing was written: read only on this error path.
        throw inactiveCallerError(await findStanding(db, user.id)) ?? permissionDenied();
      }
      return c.json(serializeTask(task, c.get('settings')), 201);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/tasks/{id}/',
    tag: 'tasks',
    summary: 'Read a task',
    auth: 'optional',
    oauthScope: 'tasks.read',
    responses: { 200: 'Task' },
    handler: async (c, { id }) => {
      const [task] = await c.get('db').select().from(tasks).where(eq(tasks.id, id()));
      if (!task) throw notFound();
      return c.json(serializeTask(task, c.get('settings')));
    },
  }),
  writeRoute('put', 'Replace a task (owner or staff)', taskInput),
  writeRoute('patch', 'Change some fields of a task (owner or staff)', taskPatchInput),
  defineRoute({
    method: 'delete',
    path: '/tasks/{id}/',
    tag: 'tasks',
    summary: 'Delete a task (owner or staff)',
    auth: 'required',
    oauthScope: 'tasks.write',
    responses: { 204: null, 403: 'Detail' },
    handler: async (c, { user, id: pathId }) => {
      const id = pathId();
      const db = c.get('db');
      const results = await db.batch([
        guardRow(db, user, id),
        ...staffTaskEvent(c, user, 'staff.task_deleted', id),
        db.delete(tasks).where(changeableBy(user, id)).returning({ id: tasks.id }),
      ]);
      const [guard] = results[0];
      const [deleted] = results[results.length - 1] as { id: number }[];
      if (!deleted) throw refusal(guard, user) ?? notFound();
      return c.body(null, 204);
    },
  }),
];

/**
 * Importing a Django tutorial deployment: the JSON of `python manage.py dumpdata auth.user
 * tasks.task` into D1, ids kept. Runs on any D1Database: the local one (scripts/local-d1.ts), the
 * deployed one through wrangler (scripts/import-django.ts), or a test's.
 *
 * Everything is checked before anything is written: a bad record, or one that conflicts with a
 * different user or task already in the database, stops the import with nothing written (or,
 * with `continueOnErrors`, is left out and listed). Records already imported are left alone, so a
 * second run changes nothing.
 *
 * Django keeps no "email verified", and its own password reset mails any active user's address:
 * a dump of auth.user alone keeps that, every address verified. django-allauth does keep it
 * (`account.emailaddress`): with those records in the dump, an address is verified when one says so.
 */
import { MAX_IMPORTED_PBKDF2_ITERATIONS } from '../src/auth/passwords.ts';
import { parseDateTime } from '../src/drf/datetime.ts';

/** The part of D1's binding the import uses (a D1Database has it). */
export interface ImportDatabase {
  prepare(query: string): { bind(...values: unknown[]): ImportStatement };
  batch(statements: ImportStatement[]): Promise<unknown>;
}
export interface ImportStatement {
  all<T = Record<string, unknown>>(): Promise<{ results: T[] }>;
}

export interface ImportOptions {
  /** The task model's label in the dump (`app.model`). */
  tasksModel?: string;
  /** Import every valid record and list the others, instead of importing nothing. */
  continueOnErrors?: boolean;
}

/** A record left out, and why. */
export interface Problem {
  record: string;
  reason: string;
}

export interface ImportReport {
  users: { added: number; alreadyThere: number };
  tasks: { added: number; alreadyThere: number };
  skipped: Problem[];
  /** Users imported without a usable password: they log in after a password reset. */
  mustResetPassword: string[];
}

/** Nothing was imported: the dump as a whole is unusable, or has bad records (`problems`). */
export class ImportError extends Error {
  readonly problems: Problem[];
  constructor(message: string, problems: Problem[] = []) {
    super(message);
    this.name = 'ImportError';
    this.problems = problems;
  }
}

interface UserRow {
  id: number;
  username: string;
  email: string;
  password: string;
  isActive: boolean;
  isStaff: boolean;
  dateJoined: number;
  lastLogin: number | null;
  emailVerified: boolean;
}

interface TaskRow {
  id: number;
  title: string;
  personId: number;
  dueTo: string;
}

interface Parsed<T> {
  label: string;
  row: T;
  /** Why the user's password hash cannot be checked here (imported only with `continueOnErrors`). */
  unsupported?: string;
}

// D1 binds at most 100 values a statement. With the values written into the SQL (the --remote
// path), a statement of 11 users or 25 tasks at their longest stays far below D1's 100 KB.
const MAX_BOUND_VALUES = 100;
// The tutorial's models (Django's limits, and this service's): User.username, email and password,
// Task.title.
const USERNAME_MAX_LENGTH = 150;
const EMAIL_MAX_LENGTH = 254;
const PASSWORD_MAX_LENGTH = 128;
const TITLE_MAX_LENGTH = 100;
const USERNAME = /^[\p{L}\p{N}_.@+-]+$/u;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** NUL or a lone surrogate: refused by the API's text fields, so by the import too. */
const BAD_TEXT = /\0|\p{Cs}/u;

class RecordError extends Error {}

const fail = (reason: string): never => {
  throw new RecordError(reason);
};

function field(fields: Record<string, unknown>, name: string): unknown {
  if (!(name in fields)) fail(`the field "${name}" is missing`);
  return fields[name];
}

const text = (fields: Record<string, unknown>, name: string) => {
  const value = field(fields, name);
  return typeof value === 'string' ? value : fail(`"${name}" is not a string`);
};

const flag = (fields: Record<string, unknown>, name: string) => {
  const value = field(fields, name);
  return typeof value === 'boolean' ? value : fail(`"${name}" is not true or false`);
};

const id = (value: unknown, what: string) =>
  Number.isSafeInteger(value) && (value as number) > 0 ? (value as number) : fail(`${what} is not a positive integer`);

/** Django's datetime (`2016-10-18T19:12:01.250Z`; without a zone, UTC), in our stored form. */
function dateTime(fields: Record<string, unknown>, name: string): string {
  const parsed = parseDateTime(text(fields, name));
  return 'stored' in parsed ? parsed.stored : fail(`"${name}": ${parsed.error}`);
}

/** The stored form's milliseconds (`YYYY-MM-DDThh:mm:ss.uuuuuuZ`), as date_joined and last_login keep. */
const milliseconds = (stored: string) => Date.parse(`${stored.slice(0, 23)}Z`);

/**
 * Why a hash cannot be checked here, if it cannot. It is imported as it is all the same (with
 * `continueOnErrors`): a login is refused and logged, and a password reset replaces it.
 */
function unsupportedHash(encoded: string): string | undefined {
  if (encoded.startsWith('!')) return undefined; // Django's unusable password: imported as such
  const [algorithm, iterations] = encoded.split('$');
  if (algorithm === 'pbkdf2_sha256' && encoded.split('$').length === 4) {
    const count = Number(iterations);
    if (Number.isInteger(count) && count >= 1 && count <= MAX_IMPORTED_PBKDF2_ITERATIONS) return undefined;
    return `its pbkdf2_sha256 hash has ${iterations} iterations (at most ${MAX_IMPORTED_PBKDF2_ITERATIONS} are supported)`;
  }
  const name = encoded.includes('$') && /^[a-z0-9_]{1,32}$/.test(algorithm!) ? `"${algorithm}"` : 'an unknown format';
  return `its password hash uses ${name}, which is not supported`;
}

function checkText(value: string, name: string, maxLength: number): string {
  if (BAD_TEXT.test(value)) fail(`"${name}" holds a NUL or a lone surrogate`);
  if ([...value].length > maxLength) fail(`"${name}" is longer than ${maxLength} characters`);
  return value;
}

function parseUser(fields: Record<string, unknown>, pk: number): Parsed<UserRow> {
  const username = text(fields, 'username');
  if (username.length === 0 || [...username].length > USERNAME_MAX_LENGTH || !USERNAME.test(username)) {
    fail(`"username" is not a valid username`);
  }
  // Logins look a username up in NFKC form: another form could never log in.
  if (username !== username.normalize('NFKC')) fail(`"username" is not in NFKC form (${username.normalize('NFKC')})`);
  const email = checkText(text(fields, 'email'), 'email', EMAIL_MAX_LENGTH);
  if (email !== '' && !EMAIL.test(email)) fail('"email" is not an email address');
  const password = checkText(text(fields, 'password'), 'password', PASSWORD_MAX_LENGTH);
  const lastLogin = field(fields, 'last_login');
  const [isStaff, isSuperuser] = [flag(fields, 'is_staff'), flag(fields, 'is_superuser')];
  return {
    label: `auth.user ${pk} (${username})`,
    unsupported: unsupportedHash(password),
    row: {
      id: pk,
      username,
      email,
      password,
      isActive: flag(fields, 'is_active'),
      // Staff is what this service has; a Django superuser becomes staff.
      isStaff: isStaff || isSuperuser,
      dateJoined: milliseconds(dateTime(fields, 'date_joined')),
      lastLogin: lastLogin === null ? null : milliseconds(dateTime(fields, 'last_login')),
      emailVerified: false, // set by parseDump, which has read every record
    },
  };
}

function parseTask(fields: Record<string, unknown>, pk: number, model: string): Parsed<TaskRow> {
  const title = checkText(text(fields, 'title'), 'title', TITLE_MAX_LENGTH);
  if (title === '') fail('"title" is empty');
  return {
    label: `${model} ${pk}`,
    row: { id: pk, title, personId: id(field(fields, 'person'), '"person"'), dueTo: dateTime(fields, 'due_to') },
  };
}

/** The dump's users and tasks, and its bad records. */
export function parseDump(json: string, tasksModel = 'tasks.task') {
  let records: unknown;
  try {
    records = JSON.parse(json);
  } catch (error) {
    throw new ImportError(`The file is not JSON (${(error as Error).message}).`);
  }
  if (!Array.isArray(records)) {
    throw new ImportError(
      'The file is not a dumpdata list: expected [{"model": ..., "pk": ..., "fields": {...}}, ...].',
    );
  }
  const users: Parsed<UserRow>[] = [];
  /** Every user record's pk, the records refused included: a task of one of them is not anyone else's. */
  const userPks = new Set<number>();
  const tasks: Parsed<TaskRow>[] = [];
  const problems: Problem[] = [];
  /** `<user pk> <lower-case email>` of every verified allauth address, once the dump has any. */
  let verified: Set<string> | undefined;
  records.forEach((record: unknown, index) => {
    const where = `record ${index + 1}`;
    const { model, pk, fields } = (record ?? {}) as { model?: unknown; pk?: unknown; fields?: unknown };
    if (model === 'auth.user' && Number.isSafeInteger(pk)) userPks.add(pk as number);
    try {
      if (typeof fields !== 'object' || fields === null) fail('it has no "fields"');
      const key = id(pk, '"pk"');
      if (model === 'auth.user') users.push(parseUser(fields as Record<string, unknown>, key));
      else if (model === tasksModel) tasks.push(parseTask(fields as Record<string, unknown>, key, tasksModel));
      else if (model === 'account.emailaddress') {
        const address = fields as Record<string, unknown>;
        const owner = id(field(address, 'user'), '"user"');
        verified ??= new Set();
        if (flag(address, 'verified')) verified.add(`${owner} ${text(address, 'email').toLowerCase()}`);
      } else
        fail(
          `its model is ${JSON.stringify(model)}, not auth.user, account.emailaddress or ${tasksModel} (see --tasks-model)`,
        );
    } catch (error) {
      if (!(error instanceof RecordError)) throw error;
      const label = typeof model === 'string' && Number.isSafeInteger(pk) ? `${where}, ${model} ${String(pk)}` : where;
      problems.push({ record: label, reason: error.message });
    }
  });
  for (const [list, what] of [
    [users, 'user'],
    [tasks, 'task'],
  ] as const) {
    const seen = new Set<number>();
    for (const { label, row } of list) {
      if (seen.has(row.id)) problems.push({ record: label, reason: `a second ${what} with pk ${row.id}` });
      seen.add(row.id);
    }
  }
  for (const { row } of users) {
    row.emailVerified = row.email !== '' && (verified?.has(`${row.id} ${row.email.toLowerCase()}`) ?? true);
  }
  const names = new Set<string>();
  for (const { label, row } of users) {
    if (names.has(row.username)) problems.push({ record: label, reason: `a second user named ${row.username}` });
    names.add(row.username);
  }
  return { users, tasks, problems, userPks };
}

/**
 * The rows of `query` for `records`, each giving `values` (the query repeats its `marks` once per
 * value of a record), in statements of at most MAX_BOUND_VALUES values.
 */
async function lookUp<R>(
  db: ImportDatabase,
  query: (marks: string) => string,
  records: R[],
  values: (record: R) => unknown[],
): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  const perRecord = records.length > 0 ? values(records[0]!).length : 1;
  const perStatement = Math.floor(MAX_BOUND_VALUES / perRecord);
  for (let i = 0; i < records.length; i += perStatement) {
    const chunk = records.slice(i, i + perStatement);
    const marks = chunk.map(() => '?').join(', ');
    const columns = Array.from({ length: perRecord }, (_, k) => chunk.map((record) => values(record)[k]));
    const { results } = await db
      .prepare(query(marks))
      .bind(...columns.flat())
      .all();
    rows.push(...results);
  }
  return rows;
}

/** INSERT statements of `rows`, each binding at most MAX_BOUND_VALUES values. */
function inserts<T>(db: ImportDatabase, table: string, columns: string[], rows: T[], values: (row: T) => unknown[]) {
  const perStatement = Math.floor(MAX_BOUND_VALUES / columns.length);
  const statements: ImportStatement[] = [];
  for (let i = 0; i < rows.length; i += perStatement) {
    const chunk = rows.slice(i, i + perStatement);
    const marks = chunk.map(() => `(${columns.map(() => '?').join(', ')})`).join(', ');
    statements.push(
      db.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${marks}`).bind(...chunk.flatMap(values)),
    );
  }
  return statements;
}

/** The next autoincrement id of `table` must stay above the ids it has given: one of those that
 * is missing now was deleted here, and must not come back. */
async function lastGivenId(db: ImportDatabase, table: 'users' | 'tasks'): Promise<number> {
  const { results } = await db
    .prepare('SELECT seq FROM sqlite_sequence WHERE name = ?')
    .bind(table)
    .all<{ seq: number }>();
  return results[0]?.seq ?? 0;
}

/** Imports the dump `json` into `db`; see the file's comment. */
export async function importDjangoDump(db: ImportDatabase, json: string, options: ImportOptions = {}) {
  const { users, tasks, problems, userPks } = parseDump(json, options.tasksModel);
  const refused = new Set(problems.map(({ record }) => record));
  const report: ImportReport = {
    users: { added: 0, alreadyThere: 0 },
    tasks: { added: 0, alreadyThere: 0 },
    skipped: problems,
    mustResetPassword: [],
  };

  // A user already here is the one with the same id, username and date joined (none of which
  // changes); anything else holding the id or the username is a different user.
  const byId = new Map<number, { username: string; date_joined: number }>();
  const byName = new Map<string, number>();
  const existing = (await lookUp(
    db,
    (marks) => `SELECT id, username, date_joined FROM users WHERE id IN (${marks}) OR username IN (${marks})`,
    users,
    ({ row }) => [row.id, row.username],
  )) as { id: number; username: string; date_joined: number }[];
  for (const row of existing) {
    byId.set(row.id, row);
    byName.set(row.username, row.id);
  }
  const lastUserId = await lastGivenId(db, 'users');
  const newUsers: UserRow[] = [];
  const matchedUserIds = new Set<number>();
  for (const user of users) {
    if (refused.has(user.label)) continue;
    const { row } = user;
    const here = byId.get(row.id);
    const holder = byName.get(row.username);
    if (here?.username === row.username && here.date_joined === row.dateJoined) {
      report.users.alreadyThere++;
      matchedUserIds.add(row.id);
    } else if (here !== undefined) {
      problems.push({
        record: user.label,
        reason: `id ${row.id} is another user here (${here.username}); not overwritten`,
      });
    } else if (holder !== undefined) {
      problems.push({ record: user.label, reason: `the username is taken here by user ${holder}; not overwritten` });
    } else if (row.id <= lastUserId) {
      problems.push({ record: user.label, reason: `id ${row.id} belonged to a user deleted here; not brought back` });
    } else if (user.unsupported && !options.continueOnErrors) {
      problems.push({
        record: user.label,
        reason: `${user.unsupported}; --continue imports the user, who then resets the password`,
      });
    } else {
      if (user.unsupported) report.mustResetPassword.push(`${user.label}: ${user.unsupported}`);
      newUsers.push(row);
      matchedUserIds.add(row.id);
    }
  }

  // A task goes to a user of the same dump, never to whoever holds that id here.
  const existingTasks = new Map(
    (
      (await lookUp(
        db,
        (marks) => `SELECT id, person_id FROM tasks WHERE id IN (${marks})`,
        tasks,
        ({ row }) => [row.id],
      )) as { id: number; person_id: number }[]
    ).map(({ id: taskId, person_id }) => [taskId, person_id]),
  );
  const lastTaskId = await lastGivenId(db, 'tasks');
  const newTasks: TaskRow[] = [];
  for (const task of tasks) {
    if (refused.has(task.label)) continue;
    const { row } = task;
    const here = existingTasks.get(row.id);
    if (!userPks.has(row.personId)) {
      problems.push({ record: task.label, reason: `its person ${row.personId} is not in the dump` });
    } else if (!matchedUserIds.has(row.personId)) {
      problems.push({ record: task.label, reason: `its person ${row.personId} is not imported` });
    } else if (here === row.personId) {
      report.tasks.alreadyThere++;
    } else if (here !== undefined) {
      problems.push({
        record: task.label,
        reason: `id ${row.id} is another task here (of user ${here}); not overwritten`,
      });
    } else if (row.id <= lastTaskId) {
      problems.push({ record: task.label, reason: `id ${row.id} belonged to a task deleted here; not brought back` });
    } else {
      newTasks.push(row);
    }
  }

  if (problems.length > 0 && !options.continueOnErrors) {
    throw new ImportError(`Nothing was imported: ${problems.length} record(s) cannot be.`, problems);
  }

  // One batch, one transaction: every row is written, or none.
  const statements = [
    ...inserts(
      db,
      'users',
      ['id', 'username', 'email', 'password', 'is_active', 'is_staff', 'date_joined', 'last_login', 'email_verified'],
      newUsers,
      (u) => [
        u.id,
        u.username,
        u.email,
        u.password,
        u.isActive ? 1 : 0,
        u.isStaff ? 1 : 0,
        u.dateJoined,
        u.lastLogin,
        u.emailVerified ? 1 : 0,
      ],
    ),
    ...inserts(db, 'tasks', ['id', 'title', 'person_id', 'due_to'], newTasks, (t) => [
      t.id,
      t.title,
      t.personId,
      t.dueTo,
    ]),
  ];
  if (statements.length > 0) await db.batch(statements);
  report.users.added = newUsers.length;
  report.tasks.added = newTasks.length;
  return report;
}

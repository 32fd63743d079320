/**
 * Importing a Django tutorial deployment: the JSON of `python manage.py dumpdata auth.user
 * tasks.task` into D1, ids kept. Runs on any D1Database: the local one (scripts/local-d1.ts), the
 * deployed one through wrangler (scripts/import-django.ts), or a test's.
 *
 * Everything is checked before anything is written: a bad record, or one that conflicts with a
 * different user or task already in the database, stops the import with nothing written (or,
 * with `continueOnErrors`, is left out and listed). Records already imported are left alone, so a
 * second run changes nothing.
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
  /** Imported anyway with `continueOnErrors`, but reported (an unusable password). */
  warning?: string;
}

// D1 binds at most 100 values a statement; a batch stays well inside a request's limits.
const MAX_BOUND_VALUES = 100;
const STATEMENTS_PER_BATCH = 50;
// The tutorial's models (and this service's fields): User.username and Task.title.
const USERNAME_MAX_LENGTH = 150;
const TITLE_MAX_LENGTH = 100;
const USERNAME = /^[\p{L}\p{N}_.@+-]+$/u;
/** Django's make_password(None): `!` and 40 random characters, a hash no password matches. */
const unusablePassword = () =>
  `!${Array.from(crypto.getRandomValues(new Uint8Array(20)), (b) => b.toString(16).padStart(2, '0')).join('')}`;

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

const milliseconds = (stored: string) => Date.parse(stored);

/** The password as stored, or a problem for a hash this service cannot check. */
function password(encoded: string): { password: string; unsupported?: string } {
  if (encoded.startsWith('!')) return { password: encoded }; // unusable in Django too
  const [algorithm, iterations] = encoded.split('$');
  if (algorithm === 'pbkdf2_sha256' && encoded.split('$').length === 4) {
    const count = Number(iterations);
    if (Number.isInteger(count) && count >= 1 && count <= MAX_IMPORTED_PBKDF2_ITERATIONS) return { password: encoded };
    return {
      password: unusablePassword(),
      unsupported: `its pbkdf2_sha256 hash has ${iterations} iterations (at most ${MAX_IMPORTED_PBKDF2_ITERATIONS} are supported)`,
    };
  }
  const name = encoded.includes('$') && /^[a-z0-9_]{1,32}$/.test(algorithm!) ? `"${algorithm}"` : 'an unknown format';
  return { password: unusablePassword(), unsupported: `its password hash uses ${name}, which is not supported` };
}

function parseUser(fields: Record<string, unknown>, pk: number): Parsed<UserRow> & { unsupported?: string } {
  const username = text(fields, 'username');
  if (username.length === 0 || [...username].length > USERNAME_MAX_LENGTH || !USERNAME.test(username)) {
    fail(`"username" is not a valid username`);
  }
  const stored = password(text(fields, 'password'));
  const lastLogin = field(fields, 'last_login');
  return {
    label: `auth.user ${pk} (${username})`,
    unsupported: stored.unsupported,
    row: {
      id: pk,
      username,
      email: text(fields, 'email'),
      password: stored.password,
      isActive: flag(fields, 'is_active'),
      // Staff is what this service has; a Django superuser becomes staff.
      isStaff: flag(fields, 'is_staff') || flag(fields, 'is_superuser'),
      dateJoined: milliseconds(dateTime(fields, 'date_joined')),
      lastLogin: lastLogin === null ? null : milliseconds(dateTime(fields, 'last_login')),
    },
  };
}

function parseTask(fields: Record<string, unknown>, pk: number, model: string): Parsed<TaskRow> {
  const title = text(fields, 'title');
  if ([...title].length > TITLE_MAX_LENGTH) fail(`"title" is longer than ${TITLE_MAX_LENGTH} characters`);
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
  const users: (Parsed<UserRow> & { unsupported?: string })[] = [];
  /** Every user record's pk, the records refused included: a task of one of them is not anyone else's. */
  const userPks = new Set<number>();
  const tasks: Parsed<TaskRow>[] = [];
  const problems: Problem[] = [];
  records.forEach((record: unknown, index) => {
    const where = `record ${index + 1}`;
    const { model, pk, fields } = (record ?? {}) as { model?: unknown; pk?: unknown; fields?: unknown };
    if (model === 'auth.user' && Number.isSafeInteger(pk)) userPks.add(pk as number);
    try {
      if (typeof fields !== 'object' || fields === null) fail('it has no "fields"');
      const key = id(pk, '"pk"');
      if (model === 'auth.user') users.push(parseUser(fields as Record<string, unknown>, key));
      else if (model === tasksModel) tasks.push(parseTask(fields as Record<string, unknown>, key, tasksModel));
      else fail(`its model is ${JSON.stringify(model)}, not auth.user or ${tasksModel} (see --tasks-model)`);
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
  return { users, tasks, problems, userPks };
}

/** The rows of `query` for `values`, in statements of at most MAX_BOUND_VALUES values. */
async function lookUp<T>(db: ImportDatabase, query: (marks: string) => string, values: unknown[]): Promise<T[]> {
  const rows: T[] = [];
  for (let i = 0; i < values.length; i += MAX_BOUND_VALUES) {
    const chunk = values.slice(i, i + MAX_BOUND_VALUES);
    const { results } = await db
      .prepare(query(chunk.map(() => '?').join(', ')))
      .bind(...chunk)
      .all<T>();
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

  // Against what the database holds: the same id and username (or id and owner) is this record,
  // imported before; anything else sharing an id or a username is a different user or task.
  const byId = new Map<number, string>();
  const byName = new Map<string, number>();
  for (let i = 0; i < users.length; i += MAX_BOUND_VALUES / 2) {
    const chunk = users.slice(i, i + MAX_BOUND_VALUES / 2);
    const marks = chunk.map(() => '?').join(', ');
    const { results } = await db
      .prepare(`SELECT id, username FROM users WHERE id IN (${marks}) OR username IN (${marks})`)
      .bind(...chunk.map(({ row }) => row.id), ...chunk.map(({ row }) => row.username))
      .all<{ id: number; username: string }>();
    for (const { id: rowId, username } of results) {
      byId.set(rowId, username);
      byName.set(username, rowId);
    }
  }
  const newUsers: UserRow[] = [];
  const importedUserIds = new Set<number>();
  for (const user of users) {
    if (refused.has(user.label)) continue;
    const { row } = user;
    const owner = byId.get(row.id);
    const holder = byName.get(row.username);
    if (owner === row.username) {
      report.users.alreadyThere++;
      importedUserIds.add(row.id);
    } else if (owner !== undefined) {
      problems.push({ record: user.label, reason: `id ${row.id} is another user here (${owner}); not overwritten` });
    } else if (holder !== undefined) {
      problems.push({ record: user.label, reason: `the username is taken here by user ${holder}; not overwritten` });
    } else {
      if (user.unsupported) {
        if (!options.continueOnErrors) {
          problems.push({
            record: user.label,
            reason: `${user.unsupported}; --continue imports the user without a usable password`,
          });
          continue;
        }
        report.mustResetPassword.push(`${user.label}: ${user.unsupported}`);
      }
      newUsers.push(row);
      importedUserIds.add(row.id);
    }
  }

  const existingTasks = new Map(
    (
      await lookUp<{ id: number; person_id: number }>(
        db,
        (marks) => `SELECT id, person_id FROM tasks WHERE id IN (${marks})`,
        tasks.map(({ row }) => row.id),
      )
    ).map(({ id: taskId, person_id }) => [taskId, person_id]),
  );
  const personsHere = new Set(
    (
      await lookUp<{ id: number }>(
        db,
        (marks) => `SELECT id FROM users WHERE id IN (${marks})`,
        [...new Set(tasks.map(({ row }) => row.personId))].filter((person) => !importedUserIds.has(person)),
      )
    ).map(({ id: userId }) => userId),
  );
  const newTasks: TaskRow[] = [];
  for (const task of tasks) {
    if (problems.some(({ record }) => record === task.label)) continue;
    const { row } = task;
    const owner = existingTasks.get(row.id);
    if (userPks.has(row.personId) && !importedUserIds.has(row.personId)) {
      problems.push({ record: task.label, reason: `its person ${row.personId} is not imported` });
    } else if (owner === row.personId) {
      report.tasks.alreadyThere++;
    } else if (owner !== undefined) {
      problems.push({
        record: task.label,
        reason: `id ${row.id} is another task here (of user ${owner}); not overwritten`,
      });
    } else if (!importedUserIds.has(row.personId) && !personsHere.has(row.personId)) {
      problems.push({ record: task.label, reason: `its person ${row.personId} is not imported, nor here` });
    } else {
      newTasks.push(row);
    }
  }

  if (problems.length > 0 && !options.continueOnErrors) {
    throw new ImportError(`Nothing was imported: ${problems.length} record(s) cannot be.`, problems);
  }

  const statements = [
    ...inserts(
      db,
      'users',
      ['id', 'username', 'email', 'password', 'is_active', 'is_staff', 'date_joined', 'last_login'],
      newUsers,
      (u) => [u.id, u.username, u.email, u.password, u.isActive ? 1 : 0, u.isStaff ? 1 : 0, u.dateJoined, u.lastLogin],
    ),
    ...inserts(db, 'tasks', ['id', 'title', 'person_id', 'due_to'], newTasks, (t) => [
      t.id,
      t.title,
      t.personId,
      t.dueTo,
    ]),
  ];
  for (let i = 0; i < statements.length; i += STATEMENTS_PER_BATCH) {
    await db.batch(statements.slice(i, i + STATEMENTS_PER_BATCH));
  }
  report.users.added = newUsers.length;
  report.tasks.added = newTasks.length;
  return report;
}

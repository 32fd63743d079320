/**
 * `npm run import-django -- dump.json [--tasks-model app.model] [--continue] [--persist-to DIR]`
 * imports a Django tutorial deployment (`python manage.py dumpdata auth.user tasks.task`) into
 * the local D1 database; `--remote` into the deployed one, through wrangler (`wrangler login`
 * first); `--wrangler-local` takes that same path to the local database. See
 * scripts/django-import.ts for what is imported and checked.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ImportError, importDjangoDump, type ImportReport } from './django-import.ts';
import { migrateLocalD1, withLocalD1 } from './local-d1.ts';
import { wranglerDatabase } from './wrangler-d1.ts';

function fail(message: string): never {
  console.error(`Error: ${message}`);
  process.exit(1);
}

function print(report: ImportReport): void {
  const { users, tasks, skipped, mustResetPassword } = report;
  if (users.added + tasks.added === 0) {
    console.log(
      `Nothing to import: ${users.alreadyThere} users and ${tasks.alreadyThere} tasks of the dump are already here.`,
    );
  } else {
    console.log(
      `Imported ${users.added} users and ${tasks.added} tasks` +
        ` (${users.alreadyThere} users and ${tasks.alreadyThere} tasks of the dump were already here).`,
    );
  }
  if (skipped.length > 0) {
    console.log(`Left out (${skipped.length}):`);
    for (const { record, reason } of skipped) console.log(`  ${record}: ${reason}`);
  }
  if (mustResetPassword.length > 0) {
    console.log(`Imported without a usable password; they log in after a password reset (POST /auth/password/reset/):`);
    for (const line of mustResetPassword) console.log(`  ${line}`);
  }
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'tasks-model': { type: 'string', default: 'tasks.task' },
    continue: { type: 'boolean', default: false },
    remote: { type: 'boolean', default: false },
    'wrangler-local': { type: 'boolean', default: false },
    'persist-to': { type: 'string' },
  },
});
if (positionals.length !== 1) fail('give one file: npm run import-django -- dump.json');
if (!/^\w+\.\w+$/.test(values['tasks-model'])) fail('--tasks-model is app_label.model, like tasks.task');
let json: string;
try {
  json = readFileSync(positionals[0]!, 'utf8');
} catch (error) {
  fail(`cannot read ${positionals[0]}: ${(error as Error).message}`);
}
const options = { tasksModel: values['tasks-model'], continueOnErrors: values.continue };
const persist = values['persist-to'] === undefined ? [] : ['--persist-to', values['persist-to']];

try {
  let report: ImportReport;
  if (values.remote) {
    report = await importDjangoDump(wranglerDatabase(['--remote']), json, options);
  } else if (values['wrangler-local']) {
    await migrateLocalD1(values['persist-to']);
    report = await importDjangoDump(wranglerDatabase(['--local', ...persist]), json, options);
  } else {
    report = await withLocalD1(values['persist-to'], (db) => importDjangoDump(db, json, options));
  }
  print(report);
} catch (error) {
  if (error instanceof Error && error.message.includes('no such table')) {
    fail('the database has no tables yet: apply the migrations first (npx wrangler d1 migrations apply DB --remote).');
  }
  if (!(error instanceof ImportError)) throw error;
  console.error(`Error: ${error.message}`);
  for (const { record, reason } of error.problems) console.error(`  ${record}: ${reason}`);
  if (error.problems.length > 0) console.error('Fix them, or import every other record with --continue.');
  process.exit(1);
}

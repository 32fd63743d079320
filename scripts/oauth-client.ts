/**
 * `npm run oauth-client -- create --name NAME --redirect-uri URI [--redirect-uri URI] [--public]`,
 * `npm run oauth-client -- list`, `npm run oauth-client -- delete CLIENT_ID`: the apps that sign in
 * with this service, in the local D1 database that `npm start` serves (`--persist-to DIR` for
 * another), or with `--remote` in the deployed one, through wrangler (`wrangler login` first);
 * `--wrangler-local` takes that same path to the local database.
 * `create` prints what `POST /oauth/clients/` answers, the secret included (shown only then).
 */
import { parseArgs } from 'node:util';
import {
  CLIENT_NAME_MAX_LENGTH,
  clientView,
  MAX_REDIRECT_URIS,
  newClient,
  redirectUriProblem,
} from '../src/oauth/clients.ts';
import { migrateLocalD1, withLocalD1 } from './local-d1.ts';
import { wranglerDatabase, type CommandDatabase } from './wrangler-d1.ts';

const USAGE = `Usage:
  npm run oauth-client -- create --name NAME --redirect-uri URI [--redirect-uri URI ...] [--public]
  npm run oauth-client -- list
  npm run oauth-client -- delete CLIENT_ID
Add --remote for the deployed database, or --persist-to DIR for another local one
(--wrangler-local: through wrangler, as --remote does, to the local one).`;

function fail(message: string): never {
  console.error(`Error: ${message}`);
  process.exit(1);
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true, default: [] },
    public: { type: 'boolean', default: false },
    remote: { type: 'boolean', default: false },
    'wrangler-local': { type: 'boolean', default: false },
    'persist-to': { type: 'string' },
  },
});
const [command, ...rest] = positionals;

interface ClientRow {
  client_id: string;
  name: string;
  redirect_uris: string;
  secret_hash: string | null;
}

const fromRow = (row: ClientRow) => ({
  clientId: row.client_id,
  name: row.name,
  redirectUris: JSON.parse(row.redirect_uris) as string[],
  secretHash: row.secret_hash,
});

async function create(db: CommandDatabase) {
  const name = values.name?.trim() ?? '';
  if (name === '') fail('--name is required.');
  if ([...name].length > CLIENT_NAME_MAX_LENGTH) fail(`--name may have at most ${CLIENT_NAME_MAX_LENGTH} characters.`);
  const redirectUris = values['redirect-uri'];
  if (redirectUris.length === 0) fail('give at least one --redirect-uri.');
  if (redirectUris.length > MAX_REDIRECT_URIS) fail(`give at most ${MAX_REDIRECT_URIS} redirect URIs.`);
  for (const uri of redirectUris) {
    const problem = redirectUriProblem(uri, values.public);
    if (problem) fail(`${uri}: ${problem}`);
  }
  const { row, secret } = await newClient({ name, redirectUris, isPublic: values.public });
  await db
    .prepare('INSERT INTO oauth_clients (client_id, name, redirect_uris, secret_hash) VALUES (?, ?, ?, ?)')
    .bind(row.clientId, row.name, JSON.stringify(row.redirectUris), row.secretHash)
    .all();
  console.log(JSON.stringify(clientView(row, secret), null, 2));
}

async function list(db: CommandDatabase) {
  const { results } = await db
    .prepare('SELECT client_id, name, redirect_uris, secret_hash FROM oauth_clients ORDER BY created_at')
    .bind()
    .all<ClientRow>();
  console.log(
    JSON.stringify(
      results.map((row) => clientView(fromRow(row))),
      null,
      2,
    ),
  );
}

async function remove(db: CommandDatabase) {
  const [clientId] = rest;
  if (!clientId) fail('give the CLIENT_ID to delete.');
  const { results } = await db
    .prepare('DELETE FROM oauth_clients WHERE client_id = ? RETURNING client_id')
    .bind(clientId)
    .all();
  if (results.length === 0) fail(`no client has the id ${clientId}.`);
  console.log(`Deleted client ${clientId}: its consents, codes and grants went with it.`);
}

const commands: Record<string, (db: CommandDatabase) => Promise<void>> = { create, list, delete: remove };
const run = command === undefined ? undefined : commands[command];
if (!run) fail(`${command === undefined ? 'no command given' : `unknown command ${command}`}.\n${USAGE}`);
try {
  const persist = values['persist-to'] === undefined ? [] : ['--persist-to', values['persist-to']];
  if (values.remote) await run(wranglerDatabase(['--remote']));
  else if (values['wrangler-local']) {
    await migrateLocalD1(values['persist-to']);
    await run(wranglerDatabase(['--local', ...persist]));
  } else await withLocalD1(values['persist-to'], (db) => run(db as unknown as CommandDatabase));
} catch (error) {
  fail(`the database refused: ${error instanceof Error ? error.message : String(error)}`);
}

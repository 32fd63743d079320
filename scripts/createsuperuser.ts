/**
 * `npm run createsuperuser -- --username admin --email admin@example.com [--password ...]`
 * Creates an active staff user in the local D1 database (the one `npm start` serves; with
 * `--persist-to DIR`, the one `npm start -- --persist-to DIR` serves). The
 * password comes from --password, then SUPERUSER_PASSWORD, then a prompt. As in Django's
 * non-interactive mode, no password rules are applied here.
 */
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { hashPassword } from '../src/auth/passwords.ts';
import { withLocalD1 } from './local-d1.ts';

const USERNAME_PATTERN = /^[\p{L}\p{N}_.@+-]{1,150}$/u;

function fail(message: string): never {
  console.error(`Error: ${message}`);
  process.exit(1);
}

/** Reads a line without echoing it (like Python's getpass). */
async function askHidden(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) process.stdout.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  const answer = rl.question(question);
  muted = true;
  const line = await answer;
  rl.close();
  process.stdout.write('\n');
  return line;
}

async function readPassword(fromArgs: string | undefined): Promise<string> {
  const given = fromArgs ?? process.env.SUPERUSER_PASSWORD;
  if (given !== undefined) return given;
  if (!process.stdin.isTTY) fail('give the password with --password or SUPERUSER_PASSWORD.');
  const password = await askHidden('Password: ');
  if ((await askHidden('Password (again): ')) !== password) fail("Your passwords didn't match.");
  return password;
}

const { values } = parseArgs({
  options: {
    username: { type: 'string' },
    email: { type: 'string', default: '' },
    password: { type: 'string' },
    'persist-to': { type: 'string' },
  },
});
const username = values.username?.trim().normalize('NFKC');
if (!username) fail('--username is required.');
if (!USERNAME_PATTERN.test(username)) {
  fail('Enter a valid username: at most 150 letters, numbers, and @/./+/-/_ characters.');
}
const email = values.email.trim();
if (email !== '' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) fail('Enter a valid email address.');
const password = await readPassword(values.password);
if (password === '') fail('the password may not be blank.');

const hash = await hashPassword(password);
try {
  await withLocalD1(values['persist-to'], (db) =>
    db
      .prepare(
        'INSERT INTO users (username, email, password, is_active, is_staff, email_verified) VALUES (?, ?, ?, 1, 1, 1)',
      )
      .bind(username, email, hash)
      .run(),
  );
} catch (error) {
  if (String(error).includes('UNIQUE constraint failed: users.username')) fail('That username is already taken.');
  fail(`creating the user failed: ${error instanceof Error ? error.message : String(error)}`);
}
console.log(`Superuser "${username}" created.`);

import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { getDb } from '../../src/db/client';
import { users } from '../../src/db/schema';
import { PBKDF2_ITERATIONS } from '../../src/auth/passwords';
import { call, createUser, decodeJwt, postJson, SITE_URL, uniqueName } from '../helpers';

const findUser = (username: string) => getDb(env.DB).query.users.findFirst({ where: eq(users.username, username) });

describe('POST /api-register/', () => {
  it('creates an inactive user and answers 201 with a confirmation_url built from SITE_URL', async () => {
    const username = uniqueName();
    const response = await postJson(
      '/api-register/',
      { username, password: 'your_pass_123', email: 'your.email@abc.com' },
      { Host: 'evil.example', 'X-Forwarded-Host': 'evil.example' },
    );
    expect(response.status).toBe(201);
    const body = (await response.json()) as { confirmation_url: string };
    expect(Object.keys(body)).toEqual(['confirmation_url']);
    expect(body.confirmation_url).toMatch(new RegExp(`^${SITE_URL}/api-activate/[\\w-]+\\.[\\w-]+\\.[\\w-]+/$`));

    const user = await findUser(username);
    expect(user).toMatchObject({ username, email: 'your.email@abc.com', isActive: false, isStaff: false });
    expect(user!.password).toMatch(
      new RegExp(`^pbkdf2_sha256\\$${PBKDF2_ITERATIONS}\\$[A-Za-z0-9]{22}\\$[A-Za-z0-9+/]{43}=$`),
    );
    expect(user!.password).not.toContain('your_pass_123');
    const token = body.confirmation_url.split('/').at(-2)!;
    expect(decodeJwt(token).payload).toMatchObject({
      user_id: user!.id,
      sub: String(user!.id),
      jti: user!.activationJti,
    });
  });

  it('accepts a form body, as `http -f` and HTML forms send it', async () => {
    const username = uniqueName();
    const response = await call('/api-register', {
      method: 'POST',
      body: new URLSearchParams({ username, password: 'form-pass-1', email: 'form@example.com' }),
    });
    expect(response.status).toBe(201);
    expect(await findUser(username)).toMatchObject({ email: 'form@example.com', isActive: false });
  });

  it('answers 400 naming every missing field', async () => {
    const response = await postJson('/api-register/', {});
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      username: ['This field is required.'],
      password: ['This field is required.'],
      email: ['This field is required.'],
    });
  });

  it('rejects a username that is taken', async () => {
    const existing = await createUser();
    const response = await postJson('/api-register/', {
      username: existing.username,
      password: 'pw-123456',
      email: 'x@example.com',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ username: ['A user with that username already exists.'] });
  });

  it("rejects usernames outside Django's rules", async () => {
    for (const username of ['has space', 'semi;colon', 'x'.repeat(151), '']) {
      const response = await postJson('/api-register/', { username, password: 'pw-123456', email: 'x@example.com' });
      expect(response.status).toBe(400);
      const expected =
        username === ''
          ? 'This field may not be blank.'
          : username.length > 150
            ? 'Ensure this field has no more than 150 characters.'
            : 'Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.';
      expect(await response.json()).toEqual({ username: [expected] });
    }
  });

  it('accepts 150 characters of letters, digits and @.+-_ including non-ASCII letters', async () => {
    const username = `${uniqueName('ü@.+-')}`.padEnd(150, 'é');
    const response = await postJson('/api-register/', { username, password: 'pw-123456', email: 'x@example.com' });
    expect(response.status).toBe(201);
  });

  it('rejects an invalid email, a blank password and values of the wrong type', async () => {
    const response = await postJson('/api-register/', { username: ['a'], password: '', email: 'not-an-email' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      username: ['Not a valid string.'],
      password: ['This field may not be blank.'],
      email: ['Enter a valid email address.'],
    });
  });

  it('rejects a body that is not a JSON object', async () => {
    const response = await postJson('/api-register/', ['username']);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] });
  });

  it('gives one 201 and nine 400s for ten simultaneous registrations of one username', async () => {
    const username = uniqueName('race');
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        postJson('/api-register/', { username, password: `race-pass-${i}`, email: `r${i}@example.com` }),
      ),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 400, 400, 400, 400, 400, 400, 400, 400, 400]);
    for (const response of responses.filter((r) => r.status === 400)) {
      expect(await response.json()).toEqual({ username: ['A user with that username already exists.'] });
    }
    const rows = await getDb(env.DB).select().from(users).where(eq(users.username, username));
    expect(rows).toHaveLength(1);
  });
});

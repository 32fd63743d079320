import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { getDb } from '../../src/db/client';
import { users } from '../../src/db/schema';
import { callWithEnv, countingD1, createUser, obtainToken, postJson, send } from '../helpers';

const refresh = (token: string) => postJson('/auth/refresh_token/', { token });
const REVOKED = { non_field_errors: ['Token has been revoked.'] };

describe('POST /auth/logout/', () => {
  it('ends every refresh chain of the user, and only of that user', async () => {
    const user = await createUser();
    const other = await createUser();
    const first = await obtainToken(user.username, user.password);
    const second = await obtainToken(user.username, user.password);
    const others = await obtainToken(other.username, other.password);

    const response = await send('POST', '/auth/logout/', { token: first });
    expect(response.status).toBe(204);

    for (const token of [first, second]) {
      const refused = await refresh(token);
      expect(refused.status).toBe(400);
      expect(await refused.json()).toEqual(REVOKED);
      const verified = await postJson('/auth/verify_token/', { token });
      expect(await verified.json()).toEqual(REVOKED);
    }
    expect((await refresh(others)).status).toBe(200);
    // Logging in again starts a new chain.
    expect((await refresh(await obtainToken(user.username, user.password))).status).toBe(200);
  });

  it('needs a token', async () => {
    const response = await send('POST', '/auth/logout/');
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ detail: 'Authentication credentials were not provided.' });
  });
});

describe('a password change', () => {
  it('ends every refresh chain, as logout does', async () => {
    const user = await createUser();
    const token = await obtainToken(user.username, user.password);
    const changed = await send('PATCH', '/users/me/', {
      token,
      body: { password: 'a brand new passphrase', current_password: user.password },
    });
    expect(changed.status).toBe(200);
    expect(await (await refresh(token)).json()).toEqual(REVOKED);
    expect((await refresh(await obtainToken(user.username, 'a brand new passphrase'))).status).toBe(200);
  });
});

describe('JWT_REVOCATION_CHECK', () => {
  const withCheck = (path: string, token: string, DB: D1Database = env.DB) =>
    callWithEnv({ JWT_REVOCATION_CHECK: 'true', DB }, path, { headers: { Authorization: `Bearer ${token}` } });

  it('off (the default): a logged-out token still authenticates until it expires, with no D1 read', async () => {
    const user = await createUser();
    const token = await obtainToken(user.username, user.password);
    await send('POST', '/auth/logout/', { token });
    expect((await send('GET', '/users/me/', { token })).status).toBe(200);
  });

  it('on: one D1 read per request, and logout, deactivation or deletion take effect at once', async () => {
    const user = await createUser();
    const token = await obtainToken(user.username, user.password);
    const counter = countingD1(env.DB);
    expect((await withCheck('/', token, counter.binding)).status).toBe(200);
    expect(counter.count()).toBe(1);

    await send('POST', '/auth/logout/', { token });
    const revoked = await withCheck('/', token);
    expect(revoked.status).toBe(401);
    expect(await revoked.json()).toEqual({ detail: 'Token has been revoked.' });

    const deactivated = await createUser();
    const deactivatedToken = await obtainToken(deactivated.username, deactivated.password);
    await getDb(env.DB).update(users).set({ isActive: false }).where(eq(users.id, deactivated.id));
    expect(await (await withCheck('/tasks/', deactivatedToken)).json()).toEqual({
      detail: 'User account is disabled.',
    });

    const deleted = await createUser();
    const deletedToken = await obtainToken(deleted.username, deleted.password);
    await getDb(env.DB).delete(users).where(eq(users.id, deleted.id));
    expect((await withCheck('/users/', deletedToken)).status).toBe(401);
  });
});

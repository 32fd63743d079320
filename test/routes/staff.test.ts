/** Staff administration of users: PATCH is_active / is_staff and DELETE on /users/<id>/. */
import { describe, expect, it } from 'vitest';
import { call, createUserWithToken, obtainToken, postJson, send, SITE_URL } from '../helpers';

const FORBIDDEN = { detail: 'You do not have permission to perform this action.' };

describe('PATCH /users/<id>/', () => {
  it('lets staff deactivate a user, whose tokens then stop refreshing and who cannot log in', async () => {
    const staff = await createUserWithToken({ isStaff: true });
    const user = await createUserWithToken();
    const before = await obtainToken(user.username, user.password);
    const response = await send('PATCH', `/users/${user.id}/`, { token: staff.token, body: { is_active: false } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      id: user.id,
      url: `${SITE_URL}/users/${user.id}/`,
      username: user.username,
      email: `${user.username}@example.com`,
      email_verified: true,
      is_active: false,
      is_staff: false,
      tasks: [],
    });
    const refresh = await postJson('/auth/refresh_token/', { token: before });
    expect(refresh.status).toBe(400);
    expect((await postJson('/api-auth/', { username: user.username, password: user.password })).status).toBe(400);

    const again = await send('PATCH', `/users/${user.id}/`, { token: staff.token, body: { is_active: 'true' } });
    expect(((await again.json()) as { is_active: boolean }).is_active).toBe(true);
    expect(await obtainToken(user.username, user.password)).toMatch(/^ey/);
  });

  it('lets staff promote and demote; a demotion ends the refresh chains at once', async () => {
    const staff = await createUserWithToken({ isStaff: true });
    const user = await createUserWithToken();
    const promoted = await send('PATCH', `/users/${user.id}/`, { token: staff.token, body: { is_staff: true } });
    expect(((await promoted.json()) as { is_staff: boolean }).is_staff).toBe(true);
    const staffToken = await obtainToken(user.username, user.password);
    await send('PATCH', `/users/${user.id}/`, { token: staff.token, body: { is_staff: 0 } });
    const refresh = await postJson('/auth/refresh_token/', { token: staffToken });
    expect(await refresh.json()).toEqual({ non_field_errors: ['Token has been revoked.'] });
  });

  it('shows is_active and is_staff to staff only', async () => {
    const staff = await createUserWithToken({ isStaff: true });
    const user = await createUserWithToken();
    const asStaff = (await (await send('GET', `/users/${user.id}/`, { token: staff.token })).json()) as object;
    expect(asStaff).toMatchObject({ is_active: true, is_staff: false });
    for (const token of [user.token, undefined]) {
      const body = (await (await send('GET', `/users/${user.id}/`, { token })).json()) as object;
      expect(body).not.toHaveProperty('is_active');
      expect(body).not.toHaveProperty('is_staff');
    }
  });

  it('refuses others with 403 and anonymous callers with 401, whatever the body; 404 for no such user', async () => {
    const user = await createUserWithToken();
    const target = await createUserWithToken();
    for (const body of [{ is_active: false }, { is_active: 'maybe' }]) {
      const response = await send('PATCH', `/users/${target.id}/`, { token: user.token, body });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual(FORBIDDEN);
    }
    expect((await send('PATCH', `/users/${target.id}/`, { body: { is_active: false } })).status).toBe(401);
    const staff = await createUserWithToken({ isStaff: true });
    expect((await send('PATCH', '/users/99999999/', { token: staff.token, body: { is_active: false } })).status).toBe(
      404,
    );
    const invalid = await send('PATCH', `/users/${target.id}/`, { token: staff.token, body: { is_active: 'maybe' } });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toEqual({ is_active: ['Must be a valid boolean.'] });
  });

  it('does not let staff deactivate or demote themselves', async () => {
    const staff = await createUserWithToken({ isStaff: true });
    for (const body of [{ is_active: false }, { is_staff: false }]) {
      const response = await send('PATCH', `/users/${staff.id}/`, { token: staff.token, body });
      expect(response.status).toBe(400);
      expect(Object.values((await response.json()) as object)).toEqual([
        ['Staff cannot deactivate or demote themselves.'],
      ]);
    }
  });
});

describe('DELETE /users/<id>/', () => {
  it('lets staff delete a user and their tasks', async () => {
    const staff = await createUserWithToken({ isStaff: true });
    const user = await createUserWithToken();
    const task = await send('POST', '/tasks/', {
      token: user.token,
      body: { title: 'goes too', due_to: '2030-01-01T00:00:00Z' },
    });
    const { id: taskId } = (await task.json()) as { id: number };
    expect((await send('DELETE', `/users/${user.id}/`, { token: staff.token })).status).toBe(204);
    expect((await call(`/users/${user.id}/`)).status).toBe(404);
    expect((await call(`/tasks/${taskId}/`)).status).toBe(404);
    expect((await send('DELETE', `/users/${user.id}/`, { token: staff.token })).status).toBe(404);
  });

  it('refuses others (403), anonymous callers (401) and staff deleting themselves (403)', async () => {
    const user = await createUserWithToken();
    const target = await createUserWithToken();
    expect((await send('DELETE', `/users/${target.id}/`, { token: user.token })).status).toBe(403);
    expect((await send('DELETE', `/users/${target.id}/`)).status).toBe(401);
    const staff = await createUserWithToken({ isStaff: true });
    const self = await send('DELETE', `/users/${staff.id}/`, { token: staff.token });
    expect(self.status).toBe(403);
    expect(await self.json()).toEqual({ detail: 'Staff cannot delete their own account.' });
    expect((await call(`/users/${target.id}/`)).status).toBe(200);
  });
});

describe('staff administration, finer points', () => {
  it('a deactivation revokes old tokens for good: reactivated, the user still needs a new login', async () => {
    const staff = await createUserWithToken({ isStaff: true });
    const user = await createUserWithToken();
    const before = await obtainToken(user.username, user.password);
    await send('PATCH', `/users/${user.id}/`, { token: staff.token, body: { is_active: false } });
    await send('PATCH', `/users/${user.id}/`, { token: staff.token, body: { is_active: true } });
    const refresh = await postJson('/auth/refresh_token/', { token: before });
    expect(await refresh.json()).toEqual({ non_field_errors: ['Token has been revoked.'] });
  });

  it('a change that removes nothing ends no refresh chain', async () => {
    const staff = await createUserWithToken({ isStaff: true });
    const user = await createUserWithToken();
    const before = await obtainToken(user.username, user.password);
    await send('PATCH', `/users/${user.id}/`, { token: staff.token, body: { is_staff: false, is_active: true } });
    expect((await postJson('/auth/refresh_token/', { token: before })).status).toBe(200);
  });

  it('a non-staff user acting on their own account gets the usual 403', async () => {
    const user = await createUserWithToken();
    for (const [method, body] of [
      ['PATCH', { is_active: false }],
      ['DELETE', undefined],
    ] as const) {
      const response = await send(method, `/users/${user.id}/`, { token: user.token, body });
      expect(response.status, method).toBe(403);
      expect(await response.json()).toEqual(FORBIDDEN);
    }
  });
});

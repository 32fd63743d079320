/**
 * The lists' counts come from counters that triggers keep (migration 0007). After many mixed
 * writes, concurrent ones included, through the API and straight into D1, every count equals a
 * COUNT(*) of the table.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createUserWithToken, send } from '../helpers';

const countOf = async (path: string) => ((await (await send('GET', path)).json()) as { count: number }).count;

async function scalar(query: string, ...values: unknown[]): Promise<number> {
  const row = await env.DB.prepare(query)
    .bind(...values)
    .first<{ n: number }>();
  return row!.n;
}

describe('list counts', () => {
  it('equal COUNT(*) after many mixed writes, concurrent ones included', async () => {
    const staff = await createUserWithToken({ isStaff: true });
    const people = await Promise.all(Array.from({ length: 6 }, () => createUserWithToken()));
    const create = (token: string, body: Record<string, unknown> = {}) =>
      send('POST', '/tasks/', { token, body: { title: 'counted', due_to: '2030-01-01T00:00:00Z', ...body } });

    // Concurrent creations by everyone, and by staff for others.
    const created = await Promise.all([
      ...people.flatMap((person) => [create(person.token), create(person.token), create(person.token)]),
      ...people.map((person) => create(staff.token, { person: person.id })),
    ]);
    const ids = await Promise.all(created.map(async (response) => ((await response.json()) as { id: number }).id));
    expect(created.every((response) => response.status === 201)).toBe(true);

    // Moves between people, concurrent deletes, a move to the same person, and refused writes.
    await Promise.all([
      send('PATCH', `/tasks/${ids[0]}/`, { token: staff.token, body: { person: people[5]!.id } }),
      send('PATCH', `/tasks/${ids[1]}/`, { token: staff.token, body: { person: people[5]!.id } }),
      send('PUT', `/tasks/${ids[2]}/`, {
        token: staff.token,
        body: { title: 'moved', due_to: '2030-01-01T00:00:00Z', person: people[4]!.id },
      }),
      send('PATCH', `/tasks/${ids[3]}/`, { token: staff.token, body: { person: people[1]!.id } }),
      send('DELETE', `/tasks/${ids[4]}/`, { token: people[1]!.token }),
      send('DELETE', `/tasks/${ids[5]}/`, { token: people[1]!.token }),
      send('DELETE', `/tasks/${ids[6]}/`, { token: people[0]!.token }),
      send('PATCH', `/tasks/${ids[7]}/`, { token: people[0]!.token, body: { person: people[3]!.id } }),
      create(people[2]!.token, { person: 999_999 }),
    ]);
    // A user deleted with their tasks, and rows written straight into D1.
    await send('DELETE', `/users/${people[3]!.id}/`, { token: staff.token });
    await env.DB.prepare(
      "insert into tasks (title, person_id, due_to) values ('direct', ?, '2031-01-01T00:00:00.000000Z')",
    )
      .bind(people[2]!.id)
      .run();
    await env.DB.prepare('delete from tasks where id = ?').bind(ids[8]).run();

    expect(await countOf('/tasks/')).toBe(await scalar('select count(*) as n from tasks'));
    expect(await countOf('/users/')).toBe(await scalar('select count(*) as n from users'));
    for (const person of [...people.filter((_, i) => i !== 3), staff]) {
      expect(await countOf(`/tasks/?person=${person.id}`), person.username).toBe(
        await scalar('select count(*) as n from tasks where person_id = ?', person.id),
      );
    }
  });
});

/** `due_to` as DRF's DateTimeField reads and writes it: years 1..9999 in UTC, microseconds kept. */
import { describe, expect, it } from 'vitest';
import { createUserWithToken, send } from '../helpers';

const FORMAT_ERROR =
  'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].';
const RANGE_ERROR = 'Datetime value out of the range.';

async function createWithDue(due_to: unknown) {
  const owner = await createUserWithToken();
  return send('POST', '/tasks/', { token: owner.token, body: { title: 'dated', due_to } });
}

describe('POST /tasks/ due_to', () => {
  it.each([
    ['2016-10-18T19:12:01.123456Z', '2016-10-18T19:12:01.123456Z'],
    ['2016-10-18T19:12:01.1Z', '2016-10-18T19:12:01.100000Z'],
    ['2016-10-18T19:12:01.000001+02:00', '2016-10-18T17:12:01.000001Z'],
    ['2016-10-18T19:12:01.1234567891Z', '2016-10-18T19:12:01.123456Z'],
    ['2016-10-18T19:12:01.000000Z', '2016-10-18T19:12:01Z'],
    ['9999-12-31T23:59:59.999999Z', '9999-12-31T23:59:59.999999Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00Z'],
    ['0001-01-01T01:30:00+01:00', '0001-01-01T00:30:00Z'],
    ['0099-06-15T12:00:00Z', '0099-06-15T12:00:00Z'],
    ['9999-12-31T23:59:59+01:00', '9999-12-31T22:59:59Z'],
    ['2030-01-01', '2030-01-01T00:00:00Z'],
  ])('keeps what DRF keeps: %s is answered as %s', async (sent, answered) => {
    const response = await createWithDue(sent);
    expect(response.status).toBe(201);
    expect(((await response.json()) as { due_to: string }).due_to).toBe(answered);
  });

  it.each([
    '9999-12-31T23:59:59-01:00',
    '9999-12-31T23:30:00-00:31',
    '0001-01-01T00:00:00+00:01',
    '0001-01-01T00:30:00+01:00',
    '0000-01-01T00:00:00Z',
    '0000-12-31T23:59:59Z',
  ])('answers 400 "%s" is out of range (outside years 1..9999 in UTC)', async (sent) => {
    const response = await createWithDue(sent);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ due_to: [RANGE_ERROR] });
  });

  it.each([
    '2016-02-30T00:00:00Z',
    '2016-10-18T24:00:00Z',
    '2016-10-18T19:12:01+24:00',
    'tomorrow',
    '+010000-01-01T00:00:00Z',
  ])('answers 400 with the format message for %j', async (sent) => {
    const response = await createWithDue(sent);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ due_to: [FORMAT_ERROR] });
  });

  it('orders by due_to to the microsecond, across years of any width', async () => {
    const owner = await createUserWithToken();
    const dues = [
      '2016-10-18T19:12:01.000002Z',
      '0999-01-01T00:00:00Z',
      '2016-10-18T19:12:01.000001Z',
      '9999-01-01T00:00:00Z',
    ];
    for (const due_to of dues) {
      await send('POST', '/tasks/', { token: owner.token, body: { title: due_to, due_to } });
    }
    const response = await send('GET', `/tasks/?person=${owner.id}&ordering=due_to`);
    const { results } = (await response.json()) as { results: { due_to: string }[] };
    expect(results.map((task) => task.due_to)).toEqual([...dues].sort());
  });
});

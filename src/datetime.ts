/** Datetimes as DRF reads and writes them: ISO 8601 in, UTC with a `Z` out. */

export const DATETIME_FORMAT_ERROR =
  'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].';

// Django's parse_datetime: date, `T` or space, hh:mm[:ss[.fraction]], optional zone (UTC if none).
const DATETIME =
  /^(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d{1,6})\d{0,6})?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** The instant `text` names, or undefined when it is not a valid datetime. */
export function parseDateTime(text: string): Date | undefined {
  const match = DATETIME.exec(text.trim());
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second = '0', fraction = '', zone = 'Z'] = match;
  const [y, mo, d, h, mi, s] = [year, month, day, hour, minute, second].map(Number) as number[];
  if (y! < 1 || mo! < 1 || mo! > 12 || d! < 1 || h! > 23 || mi! > 59 || s! > 59) return undefined;
  const daysInMonth = new Date(Date.UTC(y!, mo!, 0)).getUTCDate();
  if (d! > daysInMonth) return undefined;
  const utc = new Date(0);
  utc.setUTCFullYear(y!, mo! - 1, d!);
  utc.setUTCHours(h!, mi!, s!, Math.floor(Number(fraction.padEnd(3, '0').slice(0, 3))));
  let offsetMinutes = 0;
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const hours = Number(digits.slice(0, 2));
    const minutes = Number(digits.slice(2) || '0');
    if (hours > 23 || minutes > 59) return undefined;
    offsetMinutes = sign * (hours * 60 + minutes);
  }
  return new Date(utc.getTime() - offsetMinutes * 60_000);
}

/** `2016-10-18T19:12:01Z`, or with microseconds (`.123000Z`) when the time has a fraction, as DRF. */
export function formatDateTime(date: Date): string {
  const iso = date.toISOString(); // 2016-10-18T19:12:01.123Z
  const milliseconds = iso.slice(20, 23);
  return milliseconds === '000' ? `${iso.slice(0, 19)}Z` : `${iso.slice(0, 19)}.${milliseconds}000Z`;
}

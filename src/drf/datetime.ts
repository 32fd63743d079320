/**
 * Datetimes as DRF reads and writes them: ISO 8601 in (UTC when no zone is given), UTC with a `Z`
 * out, microseconds kept, years 1..9999 only (Python's datetime range).
 *
 * Stored as fixed-width text, `YYYY-MM-DDThh:mm:ss.uuuuuuZ`: exact to the microsecond (a count of
 * microseconds since 1970 would pass 2^53 and lose digits as a JS number) and ordered as time is.
 */

export const DATETIME_FORMAT_ERROR =
  'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].';
const DATETIME_RANGE_ERROR = 'Datetime value out of the range.';

// Django's parse_datetime: date, `T` or space, hh:mm[:ss[.fraction]], optional zone (UTC if none);
// like Django, no whitespace around it.
const DATETIME =
  /^(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d{1,6})\d{0,6})?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/;

const MIN_YEAR = 1;
const MAX_YEAR = 9999;

type ParsedDateTime = { stored: string } | { error: typeof DATETIME_FORMAT_ERROR | typeof DATETIME_RANGE_ERROR };

/** Minutes east of UTC for `Z`, `+02`, `+0200` or `+02:00`; undefined when out of range. */
function offsetMinutes(zone: string): number | undefined {
  if (zone === 'Z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || '0');
  if (hours > 23 || minutes > 59) return undefined;
  return (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
}

/** The instant `text` names, in the stored form, or DRF's message for why it is not one. */
export function parseDateTime(text: string): ParsedDateTime {
  // Django 4+ reads a date alone (through Python's fromisoformat) as its midnight.
  const match = DATETIME.exec(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00` : text);
  if (!match) return { error: DATETIME_FORMAT_ERROR };
  const [, year, month, day, hour, minute, second = '0', fraction = '', zone = 'Z'] = match;
  const [y, mo, d, h, mi, s] = [year, month, day, hour, minute, second].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const offset = offsetMinutes(zone);
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59 || offset === undefined) {
    return { error: DATETIME_FORMAT_ERROR };
  }
  const local = new Date(0);
  local.setUTCFullYear(y, mo - 1, d); // not Date.UTC, which reads years 0..99 as 1900..1999
  if (local.getUTCDate() !== d) return { error: DATETIME_FORMAT_ERROR }; // e.g. 31 April
  local.setUTCHours(h, mi, s, 0);
  const utc = new Date(local.getTime() - offset * 60_000);
  const utcYear = utc.getUTCFullYear();
  if (utcYear < MIN_YEAR || utcYear > MAX_YEAR) return { error: DATETIME_RANGE_ERROR };
  return { stored: `${utc.toISOString().slice(0, 19)}.${fraction.padEnd(6, '0')}Z` };
}

/** DRF's output: `2016-10-18T19:12:01Z`, or `2016-10-18T19:12:01.123456Z` with a fraction. */
export function formatDateTime(stored: string): string {
  const fraction = stored.slice(20, 26);
  return fraction === '000000' ? `${stored.slice(0, 19)}Z` : `${stored.slice(0, 26)}Z`;
}

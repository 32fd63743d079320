/** Due dates: the API speaks UTC; people type and read their own time zone. */

const pad = (value: number) => String(value).padStart(2, '0');

/** `2030-01-01T09:00` typed in a datetime-local input (local time) -> ISO 8601 in UTC. */
export const localInputToUtc = (value: string): string => new Date(value).toISOString();

/** An API datetime -> the value of a datetime-local input, in local time. */
export function utcToLocalInput(iso: string): string {
  const date = new Date(iso);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** An API datetime as people read it, in their time zone. */
export const formatDateTime = (iso: string): string =>
  new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

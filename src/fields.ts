/** Zod builders for request fields, with the coercions and limits of DRF's serializer fields. */
import * as z from 'zod';
import { DATETIME_FORMAT_ERROR, parseDateTime } from './datetime';

/** Like DRF's CharField: accepts strings and numbers, trims unless told not to, rejects blank. */
export function charField({ maxLength, trim = true }: { maxLength: number; trim?: boolean }) {
  const text = z.string().min(1).max(maxLength);
  return z.preprocess((value) => {
    const coerced = typeof value === 'number' ? String(value) : value;
    return trim && typeof coerced === 'string' ? coerced.trim() : coerced;
  }, text);
}

export const USERNAME_MAX_LENGTH = 150;

/** Django's username rules: NFKC-normalised, at most 150 letters, digits and @ . + - _ */
export const usernameField = () =>
  charField({ maxLength: USERNAME_MAX_LENGTH })
    .transform((value) => value.normalize('NFKC'))
    .pipe(
      z
        .string()
        .max(USERNAME_MAX_LENGTH)
        .regex(/^[\p{L}\p{N}_.@+-]+$/u, {
          error: 'Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.',
        }),
    );

/** Passwords are never trimmed; the cap only keeps request bodies sensible. */
export const passwordField = () => charField({ maxLength: 4096, trim: false });

export const emailField = () =>
  charField({ maxLength: 254 }).pipe(z.email()).meta({ type: 'string', format: 'email', maxLength: 254 });

/** Messages for a missing or null value, for fields whose other errors are their own. */
function presenceMessage(input: unknown): string | undefined {
  if (input === undefined) return 'This field is required.';
  if (input === null) return 'This field may not be null.';
  return undefined;
}

/** Like DRF's DateTimeField: an ISO 8601 string (UTC when it has no zone) to a Date. */
export const dateTimeField = () =>
  z
    .string({ error: (issue) => presenceMessage(issue.input) ?? DATETIME_FORMAT_ERROR })
    .transform((text, ctx) => {
      const date = parseDateTime(text);
      if (!date) {
        ctx.addIssue({ code: 'custom', message: DATETIME_FORMAT_ERROR, input: text });
        return z.NEVER;
      }
      return date;
    })
    .meta({ type: 'string', format: 'date-time', examples: ['2016-10-18T19:12:01Z'] });

const PYTHON_TYPE_NAMES: Record<string, string> = { string: 'str', boolean: 'bool', object: 'dict', number: 'float' };

/** Like DRF's PrimaryKeyRelatedField: an id as a number or a string of digits. */
export const primaryKeyField = () =>
  z
    .unknown()
    .transform((value, ctx) => {
      const id = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
      if (typeof id === 'number' && Number.isSafeInteger(id) && id > 0) return id;
      const message =
        presenceMessage(value) ??
        (typeof id === 'number' && Number.isInteger(id)
          ? `Invalid pk "${id}" - object does not exist.`
          : `Incorrect type. Expected pk value, received ${Array.isArray(value) ? 'list' : (PYTHON_TYPE_NAMES[typeof value] ?? typeof value)}.`);
      ctx.addIssue({ code: 'custom', message, input: value });
      return z.NEVER;
    })
    .meta({ type: 'integer', minimum: 1 });

/** A query parameter holding a whole number >= 0; undefined when absent or empty. */
export const queryIntegerField = () =>
  z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined || text.trim() === '') return undefined;
      if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(Number(text))) {
        ctx.addIssue({ code: 'custom', message: 'A valid integer is required.', input: text });
        return z.NEVER;
      }
      const value = Number(text);
      if (value < 0) {
        ctx.addIssue({ code: 'custom', message: 'Ensure this value is greater than or equal to 0.', input: text });
        return z.NEVER;
      }
      return value;
    });

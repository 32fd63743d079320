/** Zod builders for request fields, with the coercions, limits and messages of DRF's fields. */
import * as z from 'zod';
import { DATETIME_FORMAT_ERROR, parseDateTime } from './datetime';
import { pythonTypeName } from './python-types';

/** Lengths count characters (code points), as Python does, not UTF-16 units. */
export const characterCount = (text: string) => {
  let count = 0;
  for (const _ of text) count++;
  return count;
};

/** The first lone surrogate of `text` (only possible in text that came from JSON escapes). */
function loneSurrogate(text: string): number | undefined {
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) return code;
  }
  return undefined;
}

/** DRF's CharField validators: not blank, at most `maxLength` characters, no NUL, no surrogates. */
function checkText(text: string, maxLength: number, ctx: z.RefinementCtx): void {
  const fail = (message: string) => ctx.addIssue({ code: 'custom', message, input: text });
  if (text === '') return fail('This field may not be blank.');
  if (characterCount(text) > maxLength) fail(`Ensure this field has no more than ${maxLength} characters.`);
  if (text.includes('\0')) fail('Null characters are not allowed.');
  const surrogate = loneSurrogate(text);
  if (surrogate !== undefined) {
    fail(`Surrogate characters are not allowed: U+${surrogate.toString(16).toUpperCase()}.`);
  }
}

/** Like DRF's CharField: accepts strings and numbers, trims unless told not to, rejects blank. */
export function charField({ maxLength, trim = true }: { maxLength: number; trim?: boolean }) {
  return z
    .preprocess((value) => {
      const coerced = typeof value === 'number' ? String(value) : value;
      return trim && typeof coerced === 'string' ? coerced.trim() : coerced;
    }, z.string())
    .superRefine((text, ctx) => checkText(text, maxLength, ctx))
    .meta({ type: 'string', minLength: 1, maxLength });
}

export const USERNAME_MAX_LENGTH = 150;
export const TITLE_MAX_LENGTH = 100;
const EMAIL_MAX_LENGTH = 254;

/** Django's username rules: NFKC-normalised, at most 150 letters, digits and @ . + - _ */
export const usernameField = () =>
  charField({ maxLength: USERNAME_MAX_LENGTH })
    .transform((value) => value.normalize('NFKC'))
    .pipe(
      z
        .string()
        .superRefine((text, ctx) => checkText(text, USERNAME_MAX_LENGTH, ctx))
        .regex(/^[\p{L}\p{N}_.@+-]+$/u, {
          error: 'Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.',
        }),
    );

/** Passwords are never trimmed; the cap only keeps request bodies sensible. */
export const passwordField = () => charField({ maxLength: 4096, trim: false });

export const emailField = () =>
  charField({ maxLength: EMAIL_MAX_LENGTH })
    .pipe(z.email())
    .meta({ type: 'string', format: 'email', maxLength: EMAIL_MAX_LENGTH });

/** Messages for a missing or null value, for fields whose other errors are their own. */
function presenceMessage(input: unknown): string | undefined {
  if (input === undefined) return 'This field is required.';
  if (input === null) return 'This field may not be null.';
  return undefined;
}

/** Like DRF's DateTimeField: an ISO 8601 string (UTC when it has no zone) to the stored UTC form. */
export const dateTimeField = () =>
  z
    .string({ error: (issue) => presenceMessage(issue.input) ?? DATETIME_FORMAT_ERROR })
    .transform((text, ctx) => {
      const parsed = parseDateTime(text);
      if ('error' in parsed) {
        ctx.addIssue({ code: 'custom', message: parsed.error, input: text });
        return z.NEVER;
      }
      return parsed.stored;
    })
    .meta({ type: 'string', format: 'date-time', examples: ['2016-10-18T19:12:01Z'] });

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
          : `Incorrect type. Expected pk value, received ${pythonTypeName(value)}.`);
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

/**
 * django-filter's ModelChoiceFilter for a user id in the query: anything but a positive id is
 * refused here; whether the user exists is the caller's question.
 */
export const INVALID_CHOICE = 'Select a valid choice. That choice is not one of the available choices.';
export const queryUserIdField = () =>
  z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined || text.trim() === '') return undefined;
      const id = Number(text.trim());
      if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(id) || id < 1) {
        ctx.addIssue({ code: 'custom', message: INVALID_CHOICE, input: text });
        return z.NEVER;
      }
      return id;
    })
    .meta({ type: 'integer', minimum: 1 });

const TRUE_VALUES = new Set<unknown>([
  true,
  1,
  '1',
  't',
  'T',
  'y',
  'Y',
  'yes',
  'Yes',
  'YES',
  'true',
  'True',
  'TRUE',
  'on',
  'On',
  'ON',
]);
const FALSE_VALUES = new Set<unknown>([
  false,
  0,
  '0',
  'f',
  'F',
  'n',
  'N',
  'no',
  'No',
  'NO',
  'false',
  'False',
  'FALSE',
  'off',
  'Off',
  'OFF',
]);

/** Like DRF's BooleanField: true/false and the words and digits Django reads as them. */
export const booleanField = () =>
  z
    .unknown()
    .transform((value, ctx) => {
      if (TRUE_VALUES.has(value)) return true;
      if (FALSE_VALUES.has(value)) return false;
      ctx.addIssue({ code: 'custom', message: presenceMessage(value) ?? 'Must be a valid boolean.', input: value });
      return z.NEVER;
    })
    .meta({ type: 'boolean' });

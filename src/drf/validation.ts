/**
 * Schema failures in Django REST Framework's words: a zod issue becomes DRF's message, and the
 * issues of a body become 400 `{"field": ["message"]}`.
 */
import * as z from 'zod';
import { fieldErrors, type FieldErrors } from './errors';
import { pythonTypeName } from './python-types';

type Issue = z.core.$ZodRawIssue;

const EXPECTED_MESSAGES = new Map<string, string>([
  ['string', 'Not a valid string.'],
  ['number', 'A valid number is required.'],
  ['int', 'A valid integer is required.'],
  ['boolean', 'Must be a valid boolean.'],
]);

/** DRF's message for a zod issue; a message set on the schema itself takes precedence. */
function drfMessage(issue: Issue): string | undefined {
  const input = issue.input;
  switch (issue.code) {
    case 'invalid_type':
      if (input === undefined) return 'This field is required.';
      if (issue.expected === 'object') return `Invalid data. Expected a dictionary, but got ${pythonTypeName(input)}.`;
      if (input === null) return 'This field may not be null.';
      return EXPECTED_MESSAGES.get(issue.expected) ?? 'Invalid value.';
    case 'too_small':
      return `Ensure this value is greater than or equal to ${issue.minimum}.`;
    case 'too_big':
      return `Ensure this value is less than or equal to ${issue.maximum}.`;
    case 'invalid_format':
      return issue.format === 'email' ? 'Enter a valid email address.' : 'Enter a valid value.';
    default:
      return undefined;
  }
}

/** `{"field": [...]}` from zod issues; issues about the whole body go under `non_field_errors`. */
function toFieldErrors(error: z.ZodError): FieldErrors {
  const errors = new Map<string, string[]>();
  for (const issue of error.issues) {
    const field = issue.path.length > 0 ? String(issue.path[0]) : 'non_field_errors';
    errors.set(field, [...(errors.get(field) ?? []), issue.message]);
  }
  return Object.fromEntries(errors);
}

/** The validated value, or a thrown 400 ApiError in DRF's shape. */
export function validate<T extends z.ZodType>(schema: T, data: unknown): z.output<T> {
  const result = schema.safeParse(data, { error: drfMessage });
  if (!result.success) throw fieldErrors(toFieldErrors(result.error));
  return result.data;
}

/**
 * The shared validation hook: a schema failure becomes 400 `{"field": ["message"]}` with
 * Django REST Framework's wording.
 */
import type { Context } from 'hono';
import * as z from 'zod';
import { fieldErrors, type FieldErrors } from './errors';
import { readBody } from './http/body';

type Issue = z.core.$ZodRawIssue;

const DRF_TYPE_NAMES: Record<string, string> = {
  array: 'list',
  string: 'str',
  number: 'int',
  boolean: 'bool',
  object: 'dict',
};

function typeName(value: unknown): string {
  if (value === null) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'number' && !Number.isInteger(value)) return 'float';
  return DRF_TYPE_NAMES[typeof value] ?? typeof value;
}

const EXPECTED_MESSAGES: Record<string, string> = {
  string: 'Not a valid string.',
  number: 'A valid number is required.',
  int: 'A valid integer is required.',
  boolean: 'Must be a valid boolean.',
};

/** DRF's message for a zod issue; a message set on the schema itself takes precedence. */
function drfMessage(issue: Issue): string | undefined {
  const input = issue.input;
  switch (issue.code) {
    case 'invalid_type':
      if (input === undefined) return 'This field is required.';
      if (issue.expected === 'object') return `Invalid data. Expected a dictionary, but got ${typeName(input)}.`;
      if (input === null) return 'This field may not be null.';
      return EXPECTED_MESSAGES[issue.expected] ?? 'Invalid value.';
    case 'too_small':
      if (issue.origin === 'string') {
        return issue.minimum === 1
          ? 'This field may not be blank.'
          : `Ensure this field has at least ${issue.minimum} characters.`;
      }
      return `Ensure this value is greater than or equal to ${issue.minimum}.`;
    case 'too_big':
      if (issue.origin === 'string') return `Ensure this field has no more than ${issue.maximum} characters.`;
      return `Ensure this value is less than or equal to ${issue.maximum}.`;
    case 'invalid_format':
      return issue.format === 'email' ? 'Enter a valid email address.' : 'Enter a valid value.';
    default:
      return undefined;
  }
}

/** `{"field": [...]}` from zod issues; issues about the whole body go under `non_field_errors`. */
function toFieldErrors(error: z.ZodError): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of error.issues) {
    const field = issue.path.length > 0 ? String(issue.path[0]) : 'non_field_errors';
    (errors[field] ??= []).push(issue.message);
  }
  return errors;
}

/** The validated value, or a thrown 400 ApiError in DRF's shape. */
export function validate<T extends z.ZodType>(schema: T, data: unknown): z.output<T> {
  const result = schema.safeParse(data, { error: drfMessage });
  if (!result.success) throw fieldErrors(toFieldErrors(result.error));
  return result.data;
}

/** The request body (JSON, form or multipart), validated by `schema`. */
export async function validBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.output<T>> {
  return validate(schema, await readBody(c));
}

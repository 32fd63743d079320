/** Django REST Framework's error bodies, as the app shows them. */

export interface ApiProblem {
  /** Messages per field, shown next to the field. */
  fields: Record<string, string[]>;
  /** What is not about one field (`detail`, `non_field_errors`, a network failure), for role="alert". */
  message: string | null;
}

export const noProblem = (): ApiProblem => ({ fields: {}, message: null });

/** `{"detail": "..."}` or `{"field": ["...", ...]}` (or anything else) -> fields and a message. */
export function problemFrom(body: unknown, fallback = 'Something went wrong. Please try again.'): ApiProblem {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { fields: {}, message: fallback };
  const record = body as Record<string, unknown>;
  if (typeof record.detail === 'string') return { fields: {}, message: record.detail };
  const fields: Record<string, string[]> = {};
  let message: string | null = null;
  for (const [name, value] of Object.entries(record)) {
    const messages = Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
    if (name === 'non_field_errors') message = messages.join(' ');
    else if (messages.length) fields[name] = messages;
  }
  if (message === null && Object.keys(fields).length === 0) message = fallback;
  return { fields, message };
}

/**
 * The alert's text: the message, and the messages of fields the page has no input for (say a
 * passkey's `webauthn` or `response`), which would otherwise be shown nowhere.
 */
export function alertText(problem: ApiProblem, fieldsWithInput: string[] = []): string | null {
  const elsewhere = Object.entries(problem.fields)
    .filter(([name]) => !fieldsWithInput.includes(name))
    .flatMap(([, messages]) => messages);
  return [problem.message, ...elsewhere].filter(Boolean).join(' ') || null;
}

export const networkProblem = (): ApiProblem => ({
  fields: {},
  message: 'The server cannot be reached. Check your connection and try again.',
});

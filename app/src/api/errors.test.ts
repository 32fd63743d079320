import { describe, expect, it } from 'vitest';
import { alertText, problemFrom } from './errors';

describe('problemFrom', () => {
  it('reads detail as the message', () => {
    expect(problemFrom({ detail: 'Not found.' })).toEqual({ fields: {}, message: 'Not found.' });
  });

  it('keeps field messages per field and non_field_errors as the message', () => {
    expect(
      problemFrom({ password: ['This password is too common.'], non_field_errors: ['Unable to log in.'] }),
    ).toEqual({ fields: { password: ['This password is too common.'] }, message: 'Unable to log in.' });
  });

  it('falls back to a general message for a body in neither shape', () => {
    for (const body of [null, 'oops', [], {}, { detail: 3 }]) {
      expect(problemFrom(body).message).toBe('Something went wrong. Please try again.');
    }
  });
});

describe('alertText', () => {
  it('adds to the message what is about fields the page has no input for', () => {
    const problem = problemFrom({ code: ['The code is not valid.'], webauthn: ['The passkey could not be verified.'] });
    expect(alertText(problem, ['code'])).toBe('The passkey could not be verified.');
    expect(alertText(problem)).toBe('The code is not valid. The passkey could not be verified.');
    expect(alertText(problemFrom({ detail: 'Not found.' }), ['code'])).toBe('Not found.');
    expect(alertText(problemFrom({ code: ['The code is not valid.'] }), ['code'])).toBeNull();
  });
});

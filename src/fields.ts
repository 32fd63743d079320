/** Zod builders for request fields, with the coercions and limits of DRF's serializer fields. */
import * as z from 'zod';

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

export const emailField = () => charField({ maxLength: 254 }).pipe(z.email());

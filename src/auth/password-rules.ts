/**
 * Django's default password validators, with their messages: minimum length 8, not entirely
 * numeric, not too similar to the username or email, not a common password.
 *
 * common-passwords.txt: the 10,000 most common passwords of 8 or more characters, lower-cased,
 * from the ranked list of zxcvbn-ts (@zxcvbn-ts/language-common 4.1.3, MIT licence: Copyright (c)
 * 2012-2016 Dan Wheeler and Dropbox, Inc.; Copyright (c) 2021 @zxcvbn-ts). Shorter ones fail the
 * length rule anyway.
 */
import { characterCount } from '../drf/fields';
import commonPasswordsText from './common-passwords.txt';

const MIN_PASSWORD_LENGTH = 8;
const MAX_SIMILARITY = 0.7;

let commonPasswords: Set<string> | undefined;

const isCommon = (password: string) =>
  (commonPasswords ??= new Set(commonPasswordsText.split('\n'))).has(password.trim().toLowerCase());

/** Python's SequenceMatcher.quick_ratio over characters: an upper bound of how alike two strings are. */
function quickRatio(a: readonly string[], b: readonly string[]): number {
  const counts = new Map<string, number>();
  for (const char of b) counts.set(char, (counts.get(char) ?? 0) + 1);
  let matches = 0;
  for (const char of a) {
    const left = counts.get(char) ?? 0;
    if (left > 0) {
      matches++;
      counts.set(char, left - 1);
    }
  }
  return a.length + b.length === 0 ? 1 : (2 * matches) / (a.length + b.length);
}

/**
 * Django's UserAttributeSimilarityValidator for one attribute: the whole value and its words.
 * Lengths and matches count characters (code points), as Python's strings do.
 */
function isTooSimilar(password: string, value: string): boolean {
  const lower = [...password.toLowerCase()];
  const valueLower = value.toLowerCase();
  return [...valueLower.split(/[^\p{L}\p{N}_]+/u), valueLower].some((text) => {
    const part = [...text];
    if (part.length === 0) return false;
    // Much longer passwords are not "similar" to a short part, as in Django.
    if (lower.length >= 10 * part.length && part.length < (MAX_SIMILARITY / 2) * lower.length) return false;
    return quickRatio(lower, part) >= MAX_SIMILARITY;
  });
}

/** Every rule the password breaks, in Django's words; empty when it is acceptable. */
export function passwordProblems(password: string, user: { username: string; email: string }): string[] {
  const problems: string[] = [];
  if (user.username && isTooSimilar(password, user.username))
    problems.push('The password is too similar to the username.');
  else if (user.email && isTooSimilar(password, user.email))
    problems.push('The password is too similar to the email address.');
  if (characterCount(password) < MIN_PASSWORD_LENGTH) {
    problems.push(`This password is too short. It must contain at least ${MIN_PASSWORD_LENGTH} characters.`);
  }
  if (isCommon(password)) problems.push('This password is too common.');
  // Python's isdigit(): any decimal digit, not only 0-9.
  if (/^\p{Nd}+$/u.test(password)) problems.push('This password is entirely numeric.');
  return problems;
}

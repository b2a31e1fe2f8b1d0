import { readFileSync } from 'node:fs';
import path from 'node:path';

export type PasswordProblemCode =
  | 'too_short'
  | 'too_long'
  | 'missing_lowercase'
  | 'missing_uppercase'
  | 'missing_digit'
  | 'too_common'
  | 'contains_personal_info';

/** One rule a password breaks; `detail` is for the user and never repeats the password. */
export interface PasswordProblem {
  code: PasswordProblemCode;
  detail: string;
}

export interface PasswordContext {
  email?: string;
  nickname?: string;
}

export const PASSWORD_MIN_LENGTH = 8;
// Bounds the work of hashing (argon2 takes any length) and of these checks.
export const PASSWORD_MAX_LENGTH = 128;
// Shorter fragments ("kim", "abc") are in too many good passwords to be worth refusing.
const PERSONAL_INFO_MIN_LENGTH = 4;

/** The shipped list (data/common-passwords/top-1000.txt, at the project root in every build). */
export const COMMON_PASSWORDS_FILE = path.resolve(__dirname, '..', '..', '..', '..', 'data', 'common-passwords', 'top-1000.txt');

let common: ReadonlySet<string> | undefined;

/** Reads a one-per-line list into a lower-cased set. */
export function loadCommonPasswords(file = COMMON_PASSWORDS_FILE): ReadonlySet<string> {
  const entries = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .filter((line) => line !== '')
    .map((line) => line.toLowerCase());
  if (entries.length === 0) throw new Error(`${file} holds no passwords`);
  return new Set(entries);
}

/**
 * The rules for a new password: 8 to 128 characters with a lower-case letter, an upper-case
 * letter and a digit; not one of the 1,000 most common passwords in any case; not containing the
 * e-mail's local part or the nickname. An empty array means the password is acceptable.
 */
export function checkPassword(password: string, context: PasswordContext = {}): PasswordProblem[] {
  const problems: PasswordProblem[] = [];
  // Code points, not UTF-16 units: an emoji is one character to the user.
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) problems.push({ code: 'too_short', detail: `Use at least ${PASSWORD_MIN_LENGTH} characters.` });
  if (length > PASSWORD_MAX_LENGTH) problems.push({ code: 'too_long', detail: `Use at most ${PASSWORD_MAX_LENGTH} characters.` });
  if (!/\p{Ll}/u.test(password)) problems.push({ code: 'missing_lowercase', detail: 'Add a lower-case letter.' });
  if (!/\p{Lu}/u.test(password)) problems.push({ code: 'missing_uppercase', detail: 'Add an upper-case letter.' });
  if (!/\p{Nd}/u.test(password)) problems.push({ code: 'missing_digit', detail: 'Add a digit.' });

  const lower = password.toLowerCase();
  if ((common ??= loadCommonPasswords()).has(lower)) {
    problems.push({ code: 'too_common', detail: 'This password is among the most common ones; choose another.' });
  }
  const personal = personalFragments(context).find((fragment) => lower.includes(fragment));
  if (personal !== undefined) {
    problems.push({ code: 'contains_personal_info', detail: `Do not use your ${personal === emailLocalPart(context.email) ? 'e-mail address' : 'nickname'} in the password.` });
  }
  return problems;
}

const emailLocalPart = (email: string | undefined) => {
  if (!email) return undefined;
  const at = email.lastIndexOf('@');
  return (at > 0 ? email.slice(0, at) : email).trim().toLowerCase();
};

function personalFragments(context: PasswordContext): string[] {
  return [emailLocalPart(context.email), context.nickname?.trim().toLowerCase()].filter(
    (s): s is string => s !== undefined && [...s].length >= PERSONAL_INFO_MIN_LENGTH,
  );
}

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkPassword, COMMON_PASSWORDS_FILE, loadCommonPasswords } from '../../src/modules/users/domain/password-policy';

const codes = (password: string, context?: Parameters<typeof checkPassword>[1]) => checkPassword(password, context).map((p) => p.code);

describe('checkPassword', () => {
  it('when the password has 8+ characters with lower, upper and digit and is not common, then there is no problem', () => {
    expect(checkPassword('Gangnam-Daepa7')).toEqual([]);
    expect(checkPassword('중고거래Safe24')).toEqual([]);
  });

  it('when the password is short, long or misses a character class, then each rule broken is reported', () => {
    expect(codes('Ab1')).toEqual(['too_short']);
    expect(codes('abcdefgh')).toEqual(['missing_uppercase', 'missing_digit']);
    expect(codes('ABCDEFG1')).toEqual(['missing_lowercase']);
    expect(codes('비밀번호는안알려줌')).toEqual(['missing_lowercase', 'missing_uppercase', 'missing_digit']);
    expect(codes(`Aa1${'x'.repeat(125)}`)).toEqual([]);
    expect(codes(`Aa1${'x'.repeat(126)}`)).toEqual(['too_long']);
  });

  it('when length is counted, then an emoji is one character, not two UTF-16 units', () => {
    expect(codes('Ab1🙂🙂🙂🙂')).toEqual(['too_short']);
  });

  it('when the password is a top-1,000 entry in any case, then it is too_common (Password1, PASSW0RD, Qwerty123, Abcd1234 are on the list)', () => {
    expect(codes('Password1')).toEqual(['too_common']);
    expect(codes('PassW0rd')).toEqual(['too_common']);
    expect(codes('Qwerty123')).toEqual(['too_common']);
    expect(codes('Abcd1234')).toEqual(['too_common']);
    expect(codes('Password123')).toEqual(['too_common']);
    // Lower-case entries also fail the character rules; too_common is still reported.
    expect(codes('password')).toEqual(['missing_uppercase', 'missing_digit', 'too_common']);
  });

  it('when a password is common but below the top 1,000 of the list, then it is not too_common', () => {
    // 'iloveyou1' is not within the first 1,000 entries of the package's list.
    expect(codes('Iloveyou1')).toEqual([]);
  });

  it('when the password contains the e-mail local part or the nickname (4+ characters, any case), then it is contains_personal_info', () => {
    expect(codes('Minsu.Kim2024', { email: 'minsu.kim@example.com' })).toEqual(['contains_personal_info']);
    expect(codes('xxDaangnLover9', { nickname: 'DaangnLover' })).toEqual(['contains_personal_info']);
    expect(checkPassword('xxDaangnLover9', { nickname: 'DaangnLover' })[0]!.detail).toBe('Do not use your nickname in the password.');
    expect(checkPassword('Minsu.Kim2024', { email: 'Minsu.Kim@example.com' })[0]!.detail).toBe('Do not use your e-mail address in the password.');
  });

  it('when the e-mail local part or nickname is shorter than 4 characters, then it is not checked', () => {
    expect(codes('Kimchi-Jjigae7', { email: 'kim@example.com', nickname: 'jji' })).toEqual([]);
  });

  it('when a problem is reported, then its detail does not repeat the password', () => {
    for (const problem of checkPassword('Password1', { email: 'password1@example.com' })) expect(problem.detail).not.toContain('assword1');
  });
});

describe('the common password list', () => {
  it('when loaded, then it holds the 1,000 entries of data/common-passwords/top-1000.txt, lower-cased', () => {
    const lines = readFileSync(COMMON_PASSWORDS_FILE, 'utf8').trimEnd().split('\n');
    const set = loadCommonPasswords();

    expect(lines).toHaveLength(1000);
    expect(lines.slice(0, 3)).toEqual(['123456', 'password', '12345678']);
    expect(set.size).toBe(1000);
    expect(set.has('password1')).toBe(true);
  });
});

import { randomInt } from 'node:crypto';
import { isReservedNickname } from '../../domain/accounts';

const FALLBACK = '회원';
// The nickname rule of the spec: 2-20 of Hangul syllables, letters, digits, `_` and `.`.
const ALLOWED = /[^0-9A-Za-z가-힣_.]/g;
const MAX_BASE = 14;

/**
 * A nickname for an account made by a social sign-in: the provider's name cut to what nicknames
 * allow, plus four random digits (so `홍길동4821`); names that read as staff, or that are mostly
 * not Hangul/Latin, fall back to `회원NNNN`. The user can change it later.
 */
export function candidateNickname(name: string | undefined): string {
  const cleaned = (name ?? '').normalize('NFC').replace(ALLOWED, '').slice(0, MAX_BASE);
  const base = cleaned.length >= 2 && !isReservedNickname(cleaned) ? cleaned : FALLBACK;
  return `${base}${String(randomInt(10_000)).padStart(4, '0')}`;
}

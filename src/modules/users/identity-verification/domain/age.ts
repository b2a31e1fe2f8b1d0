/** Below this international age (만 나이) an account cannot be verified: personal data of under-14s needs a guardian's consent (개인정보 보호법 22조의2). */
export const MIN_VERIFIED_AGE = 14;

export { koreanDate } from '../../../../platform/korean-date';

/**
 * International age (만 나이, the legal age since June 2023) on `today`, both `YYYY-MM-DD`. A year
 * is complete on the birthday; someone born on 29 February completes it on 1 March in common
 * years (민법 160조: a period ending on a missing day ends with the month).
 */
export function internationalAge(birthDate: string, today: string): number {
  const [by, bm, bd] = birthDate.split('-').map(Number) as [number, number, number];
  const [ty, tm, td] = today.split('-').map(Number) as [number, number, number];
  return ty - by - (tm < bm || (tm === bm && td < bd) ? 1 : 0);
}

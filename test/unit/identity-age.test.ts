import { describe, expect, it } from 'vitest';
import { internationalAge, koreanDate } from '../../src/modules/users/identity-verification/domain/age';

describe('internationalAge (만 나이)', () => {
  it('when the birthday has not come yet this year, then the year is not complete', () => {
    expect(internationalAge('2012-03-15', '2026-03-14')).toBe(13);
    expect(internationalAge('2012-03-15', '2026-03-15')).toBe(14);
    expect(internationalAge('2012-12-31', '2026-01-01')).toBe(13);
  });

  it('when born on 29 February, then the year completes on 1 March in a common year and on 29 February in a leap year', () => {
    expect(internationalAge('2012-02-29', '2026-02-28')).toBe(13);
    expect(internationalAge('2012-02-29', '2026-03-01')).toBe(14);
    expect(internationalAge('2012-02-29', '2028-02-29')).toBe(16);
  });
});

describe('koreanDate', () => {
  it('when it is after 15:00 UTC, then it is already the next day in Korea', () => {
    expect(koreanDate(new Date('2026-11-27T14:59:59Z'))).toBe('2026-11-27');
    expect(koreanDate(new Date('2026-11-27T15:00:00Z'))).toBe('2026-11-28');
  });
});

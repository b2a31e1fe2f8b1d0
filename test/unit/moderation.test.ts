import { describe, expect, it } from 'vitest';
import { flagFingerprint, moderateListing } from '../../src/modules/products/domain/moderation';

// Contact details written to slip past a filter. The component tests post the plain forms
// through the API (test/component/catalog/listings.test.ts); these are the dodges.
const rules = (description: string) => moderateListing({ title: '아이폰 14 팝니다', description }).blocked.map((e) => e.code);

describe('contact details in a listing', () => {
  it.each([
    ['spaced dashes', '연락 010 - 1234 - 5678 주세요', 'phone_number'],
    ['the Hangul vowel ㅡ as a dash', '연락 010ㅡ1234ㅡ5678', 'phone_number'],
    ['long dashes', '연락 010—1234—5678', 'phone_number'],
    ['digits written as Hangul words', '연락 공일공 일이삼사 오육칠팔로 주세요', 'phone_number'],
    ['Hangul digit words run together', '번호는공일공구팔칠육오사삼이', 'phone_number'],
    ['the bank after the account number', '123456-01-234567 국민은행 입금 부탁드려요', 'bank_account'],
    ['the payment word after the number', '3333-01-2345678 으로 송금해주세요', 'bank_account'],
  ])('when a number is written with %s, then it is refused', (_what, description, rule) => {
    expect(rules(description)).toContain(rule);
  });

  it.each([
    ['a model number and a size', '모델명 A2894, 256GB, 배터리 효율 89%'],
    ['an everyday sentence with digit syllables', '이사 가서 급하게 팝니다. 사과 박스 일곱 개, 오래된 의자 이 개도 같이 드려요.'],
    ['a price and a date', '2024년 3월 구매, 정가 1,250,000원'],
    ['a long serial number with no bank word', '시리얼 번호 F2LXK1234567 정품 등록 가능'],
    ['a bank word far from a number', '국민카드 할인으로 샀어요. 사용감 적고 박스 포함입니다. 크기 1234567890mm 아님'],
  ])('when the text only looks close (%s), then nothing is refused', (_what, description) => {
    expect(rules(description)).toEqual([]);
  });
});

describe('what a moderator approves', () => {
  const fingerprint = (title: string, description: string) => flagFingerprint(moderateListing({ title, description }).findings);

  it('when the same flags are found again, whatever else changed, then the fingerprint is the same; a new flag or none changes it', () => {
    const approved = fingerprint('캠핑 의자', '궁금하신 점은 카톡 아이디 mangwon77 로 연락주세요');
    expect(approved).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fingerprint('캠핑 의자 2개', '가격 내렸어요. 궁금하신 점은 카톡 아이디 mangwon77 로 연락주세요')).toBe(approved);
    expect(fingerprint('캠핑 의자', '궁금하신 점은 카톡 아이디 mangwon77 로, 사진은 www.example.com 참고')).not.toBe(approved);
    expect(fingerprint('캠핑 의자', '직거래만 합니다')).toBeNull();
  });
});

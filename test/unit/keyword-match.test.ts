import { describe, expect, it } from 'vitest';
import { keywordAnchor, keywordGrams, keywordMatches, normaliseForMatch, titleGrams } from '../../src/modules/engagement/domain/keywords';

// What a keyword alert matches, as search finds it: a word inside compounds, and a word of 3+
// characters whatever the seller spaced. The gram index must find every such match (its
// containment check comes before the verification), so each case also checks the grams.
const matches = (keyword: string, title: string) => {
  const k = normaliseForMatch(keyword);
  const t = normaliseForMatch(title);
  const grams = new Set(titleGrams(t));
  const found = grams.has(keywordAnchor(k)) && keywordGrams(k).every((g) => grams.has(g));
  const verified = keywordMatches(k, t);
  // A verified match is always found by the index.
  if (verified) expect(found).toBe(true);
  return verified;
};

describe('keyword alert matching', () => {
  it.each([
    ['자전거', '미니벨로 자전거 팝니다'],
    ['아이폰', '아이폰14 프로'],
    ['아이폰14', '아이폰 14 프로 256GB'],
    ['원목식탁', '원목 식탁 4인용'],
    ['14프로', '아이폰 14 프로'],
    ['iphone 15', 'Apple iPhone-15 Pro'],
  ])('%s matches %s', (keyword, title) => {
    expect(matches(keyword, title)).toBe(true);
  });

  it.each([
    ['가방', '가죽 가 방'],
    ['냉장고', '김치 냉장 보관함'],
    ['아이폰15', '아이폰 14 프로'],
    ['자전거 헬멧', '미니벨로 자전거'],
  ])('%s does not match %s', (keyword, title) => {
    expect(matches(keyword, title)).toBe(false);
  });

  // Seeded, so a failure repeats: random keywords and titles over a small alphabet (spaces,
  // punctuation, Hangul, a 4-byte character, NFKC folds), every verified match must be found.
  it('finds every verified match through the gram index (random keywords and titles)', () => {
    const alphabet = ['가', '나', 'a', 'b', '1', ' ', ' ', '-', '𠀀', 'Ａ', '㈜'];
    let seed = 20261128;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const text = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
    let verified = 0;
    for (let i = 0; i < 20_000; i++) {
      const keyword = normaliseForMatch(text(1 + Math.floor(next() * 5)));
      if (!keyword) continue;
      if (matches(keyword, text(4 + Math.floor(next() * 12)))) verified++;
    }
    expect(verified).toBeGreaterThan(500);
  });
});

describe('the anchor an alert is looked up by', () => {
  const anchor = (keyword: string, shares: Record<string, number> = {}) => keywordAnchor(normaliseForMatch(keyword), new Map(Object.entries(shares)));
  // Shares of titles holding these grams, as the title statistics of a marketplace have them.
  const COMMON = { 아이: 0.2, 이폰: 0.15, 프로: 0.1, 케이: 0.01, 이스: 0.02, 미니: 0.01, 27: 0.005, 패드: 0.02, 캠핑: 0.03, 박스: 0.02 };

  it('when some grams are common in titles, then the anchor is the rarest: never 아이 for keywords that merely start with it', () => {
    expect(anchor('아이폰', COMMON)).toBe('이폰');
    expect(anchor('아이폰 케이스', COMMON)).toBe('케이');
    expect(anchor('아이폰 프로', COMMON)).toBe('프로');
    // Grams too rare to be counted tie; the last one wins.
    expect(anchor('아이폰맥스프로울트라 zq', COMMON)).toBe('zq');
    expect(anchor('zq 아이폰맥스프로울트라', COMMON)).toBe('트라');
  });

  it('when no gram is counted (no statistics yet), then the anchor is the last bigram, not a shared first one nor a one-character word', () => {
    expect(['아이스박스', '아이패드 미니', '아이폰 케이스', '아이맥 27', '캠핑 아이스박스 45l'].map((k) => anchor(k))).toEqual(['박스', '미니', '이스', '27', '5l']);
    expect(anchor('아이폰 x')).toBe('이폰');
    expect(anchor('x')).toBe('x');
    expect(anchor('x', { x: 0.3 })).toBe('x');
  });

  // Seeded, so a failure repeats: whatever the statistics say, the anchor is one of the alert's
  // grams (so a match is never lost) and none of them is rarer.
  it('is always one of the grams, and the rarest (random keywords and shares)', () => {
    const alphabet = ['가', '나', '다', 'a', 'b', '1', ' ', '-'];
    let seed = 20261129;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 5_000; i++) {
      const keyword = normaliseForMatch(Array.from({ length: 1 + Math.floor(next() * 8) }, () => alphabet[Math.floor(next() * alphabet.length)]).join(''));
      if (!keyword) continue;
      const grams = keywordGrams(keyword);
      const shares = new Map(grams.filter(() => next() < 0.6).map((g) => [g, Math.floor(next() * 4) / 10]));
      const chosen = keywordAnchor(keyword, shares);
      expect(grams).toContain(chosen);
      expect(Math.min(...grams.map((g) => shares.get(g) ?? 0))).toBe(shares.get(chosen) ?? 0);
    }
  });
});

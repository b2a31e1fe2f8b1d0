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

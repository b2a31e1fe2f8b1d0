import { describe, expect, it } from 'vitest';
import { suggestibleForm } from '../../src/modules/search/domain/history';

// What of a search may reach other people's autocomplete (docs/search.md, suggestions).

describe('suggestibleForm', () => {
  it('when a query is plain words, then it is suggested as the normalised words', () => {
    expect(suggestibleForm('아이폰 14 프로')).toBe('아이폰 14 프로');
    expect(suggestibleForm('  IPhone   14 ')).toBe('iphone 14');
  });

  it('when a query has more than eight words, then only the eight that did the matching can be suggested', () => {
    const words = ['에어팟', '프로', '2세대', '정품', '박스', '풀셋', '충전기', '케이스'];
    expect(suggestibleForm([...words, '텔레그램', 'scam77'].join(' '))).toBe(words.join(' '));
  });

  it('when a query holds contact details, a messenger id or a prohibited item, then it is never suggested', () => {
    expect(suggestibleForm('아이폰 010-1234-5678')).toBeNull();
    expect(suggestibleForm('아이폰 카톡 아이디')).toBeNull();
    expect(suggestibleForm('전자담배 액상')).toBeNull();
    expect(suggestibleForm('open.kakao.com/o/abc')).toBeNull();
  });

  it('when a query has no letter or digit, then there is nothing to suggest', () => {
    expect(suggestibleForm('!!! ???')).toBeNull();
  });
});

// Keyword alerts (키워드 알림) match a listing when every word of the keyword occurs in its title
// as a substring, so `자전거` matches `미니벨로 자전거 팝니다` and `아이폰` matches `아이폰14`; a word
// of 3+ characters in the title without its spaces, like search (`아이폰14` matches `아이폰 14 프로`);
// punctuation is a space here, so such a word also spans it (`원목식탁` matches `원목/식탁`), where
// search keeps punctuation. Korean has no word stems to index, so both sides are broken into
// character n-grams. Every real match has all of the alert's grams among the title's grams, so in
// particular its anchor gram, its rarest in listing titles: alerts are found by an index lookup of
// the title's grams against the anchors, filtered by the full gram containment, then verified as
// substrings.

/** At most this many characters after normalisation. */
export const KEYWORD_MAX_LENGTH = 30;
/** Saved keywords per user. */
export const MAX_KEYWORD_ALERTS = 30;

/**
 * NFKC (full-width letters and compatibility jamo fold), lower case, anything but letters and
 * digits becomes a space, spaces collapse: `iPhone-14 Pro!` → `iphone 14 pro`.
 */
export const normaliseForMatch = (s: string): string =>
  s
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();

const chars = (word: string) => Array.from(word);

/** A word's bigrams, or the word itself when it is one character long. */
function wordGrams(word: string): string[] {
  const c = chars(word);
  if (c.length <= 1) return c;
  const out: string[] = [];
  for (let i = 0; i + 1 < c.length; i++) out.push(c[i]! + c[i + 1]!);
  return out;
}

/** What an alert is indexed by: the grams of each of its words. */
export const keywordGrams = (normalisedKeyword: string): string[] => [...new Set(normalisedKeyword.split(' ').filter(Boolean).flatMap(wordGrams))];

/**
 * The one gram an alert is looked up by: its rarest in listing titles, by `frequency` (the share
 * of titles holding a gram; absent for a gram too rare for the statistics). A listing reads the
 * alerts anchored at its title's grams, so an alert costs exactly the listings holding its anchor:
 * `아이폰맥스프로울트라 zq` is read by the few titles with `zq`, not by every 아이폰 listing (`아이`).
 * Ties (grams all too rare to be counted, or no statistics yet) go to a bigram over a one-character
 * gram, then to the last one: a first bigram is often a prefix many words share (아이폰, 아이패드,
 * 아이스박스). Any of the grams would be correct; this one only makes the lookup cheap.
 */
export function keywordAnchor(normalisedKeyword: string, frequency: ReadonlyMap<string, number> = new Map()): string {
  const grams = keywordGrams(normalisedKeyword);
  const share = (g: string) => frequency.get(g) ?? 0;
  const worse = (g: string, than: string) => share(g) > share(than) || (share(g) === share(than) && chars(g).length < chars(than).length);
  return grams.reduce((best, g) => (worse(g, best) ? best : g), grams[0] ?? normalisedKeyword);
}

/** Words of this many characters or more match across the title's spaces (search's rule). */
const ACROSS_SPACES = 3;

/**
 * What a title offers to match against: every unigram and bigram of each of its words, and the
 * bigrams that span its spaces (a 3+ character keyword word may: `4프` of `아이폰 14 프로`).
 */
export function titleGrams(normalisedTitle: string): string[] {
  const out = new Set<string>();
  for (const word of normalisedTitle.split(' ')) {
    if (!word) continue;
    for (const ch of chars(word)) out.add(ch);
    for (const g of wordGrams(word)) out.add(g);
  }
  for (const g of wordGrams(normalisedTitle.replace(/ /g, ''))) out.add(g);
  return [...out];
}

/**
 * The verification of a candidate: every keyword word is a substring of the title; one of 3+
 * characters of the title without its spaces.
 */
export function keywordMatches(normalisedKeyword: string, normalisedTitle: string): boolean {
  const compact = normalisedTitle.replace(/ /g, '');
  return normalisedKeyword.split(' ').every((word) => word.length > 0 && (chars(word).length >= ACROSS_SPACES ? compact : normalisedTitle).includes(word));
}

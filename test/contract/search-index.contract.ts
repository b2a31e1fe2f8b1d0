import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { InvalidCursorError } from '../../src/platform/pagination/cursor';
import { metresBetween, type SearchDocument, type SearchIndex, type SearchQuery } from '../../src/platform/search';

/** A fresh, empty index of one adapter, and how to drop it (test clean-up only: the port has no drop). */
export interface IndexUnderTest {
  index: SearchIndex;
  drop(): Promise<void>;
}

// Real representative points: 망원동, 합정동 (≈1.3 km away), 역삼동 (≈13 km away).
export const MANGWON = { dongCode: '1144069000', dongName: '망원제1동', lat: 37.5563, lng: 126.9019 };
export const HAPJEONG = { dongCode: '1144068000', dongName: '합정동', lat: 37.5496, lng: 126.9139 };
export const YEOKSAM = { dongCode: '1168064000', dongName: '역삼1동', lat: 37.4999, lng: 127.0365 };

let seq = 0;
/** A listing with sensible defaults; ids sort in creation order within a test. */
export function listing(overrides: Partial<SearchDocument> = {}): SearchDocument {
  seq++;
  const at = new Date(Date.UTC(2026, 10, 1, 0, 0, seq)).toISOString();
  return {
    id: `prd_${String(seq).padStart(4, '0')}${randomBytes(8).toString('hex').toUpperCase().slice(0, 16)}`,
    version: 1,
    sellerId: 'usr_SELLER',
    title: '나무 의자',
    description: '',
    categoryId: 'cat_FURNITURE',
    categoryPath: 'furniture/chair',
    price: 10_000,
    condition: 'used',
    tradeMethods: ['meet_up'],
    shippingFee: 0,
    ...MANGWON,
    status: 'on_sale',
    moderation: 'ok',
    deleted: false,
    likeCount: 0,
    chatCount: 0,
    thumbnailUrl: null,
    bumpedAt: at,
    createdAt: at,
    ...overrides,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every page of a query, in order. */
async function walk(index: SearchIndex, query: Omit<SearchQuery, 'cursor'>): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await index.search({ ...query, cursor });
    pages++;
    expect(page.items.length).toBeLessThanOrEqual(query.limit);
    ids.push(...page.items.map((h) => h.doc.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor && pages < 100);
  return { ids, pages };
}

const ids = async (index: SearchIndex, query: Partial<SearchQuery>) =>
  (await index.search({ sort: 'recent', limit: 100, ...query })).items.map((h) => h.doc.id);

/** The contract every SearchIndex adapter honours; run once per configured adapter. */
export function searchIndexContract(name: string, make: () => Promise<IndexUnderTest>): void {
  describe(`SearchIndex contract: ${name}`, () => {
    const fresh = async (docs: SearchDocument[] = []) => {
      const { index, drop } = await make();
      onTestFinished(drop);
      for (const d of docs) await index.index(d);
      return index;
    };

    describe('writes', () => {
      it('when a document is indexed again with an older or the same version, then the stored one stays', async () => {
        const doc = listing({ version: 10, title: '원래 제목' });
        const index = await fresh([doc]);
        expect(await index.index({ ...doc, version: 9, title: '옛 제목' })).toBe(false);
        expect(await index.index({ ...doc, version: 10, title: '같은 버전' })).toBe(false);
        expect((await index.get(doc.id))?.title).toBe('원래 제목');
        expect(await index.index({ ...doc, version: 11, title: '새 제목' })).toBe(true);
        expect(await index.get(doc.id)).toEqual({ ...doc, version: 11, title: '새 제목' });
      });

      it('when a document is restored (rebuilt from its events), then it replaces the stored one at its own version, never a newer one, and is created when missing', async () => {
        const doc = listing({ version: 10, title: '빠진 수정' });
        const index = await fresh([doc]);
        expect(await index.restore({ ...doc, version: 10, title: '수정 반영' })).toBe(true);
        expect(await index.get(doc.id)).toEqual({ ...doc, version: 10, title: '수정 반영' });
        expect(await index.restore({ ...doc, version: 9, title: '옛 제목' })).toBe(false);
        expect((await index.get(doc.id))?.title).toBe('수정 반영');
        const missing = listing({ version: 3, title: '처음 보는 것' });
        expect(await index.restore(missing)).toBe(true);
        expect(await index.get(missing.id)).toEqual(missing);
      });

      it('when a document is updated, then the change sees the current document and the version moves; a missing or newer one is left alone', async () => {
        const doc = listing({ version: 5, likeCount: 2 });
        const index = await fresh([doc]);
        expect(await index.update(doc.id, 6, (d) => ({ ...d, likeCount: d.likeCount + 1 }))).toBe(true);
        expect(await index.update(doc.id, 6, (d) => ({ ...d, likeCount: d.likeCount + 1 }))).toBe(false);
        expect(await index.update(doc.id, 4, (d) => ({ ...d, likeCount: 99 }))).toBe(false);
        expect(await index.update('prd_MISSING', 7, (d) => d)).toBe(false);
        expect(await index.get('prd_MISSING')).toBeNull();
        expect(await index.get(doc.id)).toMatchObject({ version: 6, likeCount: 3 });
      });

      it('when ten writers update one document at the same version at once, then exactly one change is applied', async () => {
        const doc = listing({ version: 1, likeCount: 0 });
        const index = await fresh([doc]);
        const results = await Promise.all(Array.from({ length: 10 }, () => index.update(doc.id, 2, (d) => ({ ...d, likeCount: d.likeCount + 1 }))));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await index.get(doc.id)).toMatchObject({ version: 2, likeCount: 1 });
      });

      it('when writers race with increasing versions, then the highest version is what remains', async () => {
        const doc = listing({ version: 1 });
        const index = await fresh([doc]);
        await Promise.all(Array.from({ length: 12 }, (_, i) => index.index({ ...doc, version: 2 + i, price: 1000 * (2 + i) })));
        expect(await index.get(doc.id)).toMatchObject({ version: 13, price: 13_000 });
      });

      it('when a document is removed, then it is never found, and an older write cannot bring it back', async () => {
        const doc = listing({ version: 3, title: '삭제될 냉장고' });
        const index = await fresh([doc]);
        expect(await ids(index, { q: '냉장고' })).toEqual([doc.id]);
        expect(await index.remove(doc.id, 4)).toBe(true);
        expect(await ids(index, { q: '냉장고' })).toEqual([]);
        expect(await index.index({ ...doc, version: 3 })).toBe(false);
        expect(await ids(index, { q: '냉장고' })).toEqual([]);
        expect((await index.get(doc.id))?.deleted).toBe(true);
      });
    });

    describe('visibility', () => {
      it('when listings are hidden, flagged or deleted, then no query returns them, while on sale, reserved and sold ones are returned', async () => {
        const visible = [listing({ status: 'on_sale' }), listing({ status: 'reserved' }), listing({ status: 'sold' })];
        const invisible = [listing({ status: 'hidden' }), listing({ moderation: 'flagged' }), listing({ deleted: true })];
        const index = await fresh([...visible, ...invisible]);
        const all = await ids(index, { q: '의자' });
        expect(all.sort()).toEqual(visible.map((d) => d.id).sort());
        expect(await ids(index, { status: 'sold' })).toEqual([visible[2]!.id]);
        expect(await index.suggest('나무', 10)).toEqual([{ text: '나무 의자' }]);
      });
    });

    describe('text matching', () => {
      it('when searching Korean words, then they match inside titles and descriptions, including inside compounds', async () => {
        const iphone = listing({ title: '아이폰 14 프로 256GB' });
        const bike = listing({ title: '미니벨로 자전거' });
        const compound = listing({ title: '접이식미니벨로자전거 급처' });
        const inDescription = listing({ title: '급처분합니다', description: '아이폰 케이스 포함, 자전거 거치대 증정' });
        const other = listing({ title: '갤럭시 S24 울트라' });
        const index = await fresh([iphone, bike, compound, inDescription, other]);
        expect((await ids(index, { q: '아이폰' })).sort()).toEqual([iphone.id, inDescription.id].sort());
        expect((await ids(index, { q: '자전거' })).sort()).toEqual([bike.id, compound.id, inDescription.id].sort());
        expect(await ids(index, { q: '미니벨로' })).toEqual(expect.arrayContaining([bike.id, compound.id]));
        expect(await ids(index, { q: '아이폰 프로' })).toEqual([iphone.id]);
        expect(await ids(index, { q: '냉장고' })).toEqual([]);
        // Spaced otherwise than the seller did: the words are matched in the text without its spaces.
        expect(await ids(index, { q: '아이폰14' })).toEqual([iphone.id]);
        expect(await ids(index, { q: '14프로' })).toEqual([iphone.id]);
        expect(await ids(index, { q: '미니 벨로' })).toEqual(expect.arrayContaining([bike.id, compound.id]));
        expect(await ids(index, { q: '미니벨로자전거' })).toEqual(expect.arrayContaining([bike.id, compound.id]));
        // A hit is what a list shows: the description is matched, never returned.
        const [hit] = (await index.search({ q: '거치대', sort: 'recent', limit: 10 })).items;
        const { id, title, categoryId, price, condition, dongCode, dongName, lat, lng, status, likeCount, chatCount, thumbnailUrl, bumpedAt } = inDescription;
        expect(hit?.doc).toEqual({ id, title, categoryId, price, condition, dongCode, dongName, lat, lng, status, likeCount, chatCount, thumbnailUrl, bumpedAt });
      });

      it('when searching English in any case or full width, then it matches case-insensitively', async () => {
        const iphone = listing({ title: 'Apple iPhone 15 Pro' });
        const galaxy = listing({ title: 'GALAXY Tab S9' });
        const index = await fresh([iphone, galaxy]);
        expect(await ids(index, { q: 'iphone' })).toEqual([iphone.id]);
        expect(await ids(index, { q: 'IPHONE' })).toEqual([iphone.id]);
        expect(await ids(index, { q: 'ｉＰｈｏｎｅ' })).toEqual([iphone.id]);
        expect(await ids(index, { q: 'galaxy tab' })).toEqual([galaxy.id]);
      });

      it('when a word has two characters, then it matches anywhere, inside compounds too; one character matches words starting with it', async () => {
        const bag = listing({ title: '가죽 가방' });
        const strap = listing({ title: '가방끈 팝니다' });
        const wallet = listing({ title: '가죽 지갑' });
        const laptopBag = listing({ title: '노트북가방 15인치', description: '캠핑의자도 같이 드려요' });
        const index = await fresh([bag, strap, wallet, laptopBag]);
        expect((await ids(index, { q: '가방' })).sort()).toEqual([bag.id, strap.id, laptopBag.id].sort());
        expect((await ids(index, { q: '가죽 가방' })).sort()).toEqual([bag.id]);
        // In the description too, and Latin letters and digits alike.
        expect(await ids(index, { q: '의자' })).toEqual([laptopBag.id]);
        expect(await ids(index, { q: '5인' })).toEqual([laptopBag.id]);
        expect(await ids(index, { q: '방끈' })).toEqual([strap.id]);
        // Two characters are two adjacent ones within a word, never across a space.
        expect(await ids(index, { q: '죽가' })).toEqual([]);
        // One character: a word's first.
        expect((await ids(index, { q: '가' })).sort()).toEqual([bag.id, strap.id, wallet.id].sort());
        expect(await ids(index, { q: '방' })).toEqual([]);
      });

      it('when words are joined by punctuation, then a short word after it still starts a word; a long word is matched in the text without its spaces', async () => {
        const comma = listing({ title: '가죽,가방 세트' });
        const paren = listing({ title: '(가방) 팝니다' });
        const spaced = listing({ title: 'abc bcd 세트', description: '100 000원에 드려요' });
        const index = await fresh([comma, paren, spaced]);
        expect((await ids(index, { q: '가방' })).sort()).toEqual([comma.id, paren.id].sort());
        // A substring of the text without its spaces, not a chain of overlapping pieces.
        expect(await ids(index, { q: 'abcd' })).toEqual([]);
        expect(await ids(index, { q: 'abcbcd' })).toEqual([spaced.id]);
        expect(await ids(index, { q: '100000원' })).toEqual([spaced.id]);
        expect(await ids(index, { q: '1000원' })).toEqual([]);
        expect(await ids(index, { q: 'abc' })).toEqual([spaced.id]);
      });

      it('when a word has no three letters or digits in a row (c++, 1.5, ab-c), then it is still a literal substring: punctuation and all', async () => {
        const cpp = listing({ title: 'c++ 프로그래밍 입문' });
        const bracketed = listing({ title: '(c++) 자료구조 책' });
        const c = listing({ title: 'c 언어 책', description: 'c+ 학점 받은 노트' });
        const litre = listing({ title: '생수 1.5L 6병' });
        const spaced = listing({ title: '생수 15L', description: '1 5 묶음' });
        const cable = listing({ title: '미니 ab-c 케이블' });
        const apart = listing({ title: 'ab c 케이블', description: 'abc' });
        const index = await fresh([cpp, bracketed, c, litre, spaced, cable, apart]);
        expect((await ids(index, { q: 'c++' })).sort()).toEqual([cpp.id, bracketed.id].sort());
        expect(await ids(index, { q: '1.5' })).toEqual([litre.id]);
        expect(await ids(index, { q: 'ab-c' })).toEqual([cable.id]);
        expect(await ids(index, { q: 'c++ 입문' })).toEqual([cpp.id]);
        expect(await ids(index, { q: 'a--' })).toEqual([]);
        expect(await ids(index, { q: '(c+' })).toEqual([bracketed.id]);
      });

      it('when the query holds LIKE or tsquery syntax, then it is matched literally, and words without a letter or digit are ignored', async () => {
        const percent = listing({ title: '100% 정품 운동화' });
        const plain = listing({ title: '100 정품 운동화' });
        const index = await fresh([percent, plain]);
        expect(await ids(index, { q: '100%' })).toEqual([percent.id]);
        expect(await ids(index, { q: '_0%' })).toEqual([]);
        expect((await ids(index, { q: "'&|!:* 운동화" })).sort()).toEqual([percent.id, plain.id].sort());
        expect((await ids(index, { q: '운동화 :*' })).sort()).toEqual([percent.id, plain.id].sort());
        expect(await ids(index, { q: '운동화 :*정' })).toEqual([]);
      });
    });

    describe('filters', () => {
      it('when filtering by category, then the category and everything under it match, a sibling with a longer slug does not', async () => {
        const phone = listing({ categoryPath: 'digital/phone' });
        const tablet = listing({ categoryPath: 'digital/tablet' });
        const camera = listing({ categoryPath: 'digital-camera/lens' });
        const index = await fresh([phone, tablet, camera]);
        expect((await ids(index, { categoryPath: 'digital' })).sort()).toEqual([phone.id, tablet.id].sort());
        expect(await ids(index, { categoryPath: 'digital/phone' })).toEqual([phone.id]);
        expect(await ids(index, { categoryPath: 'digital/phone', categoryLeaf: true })).toEqual([phone.id]);
        expect(await ids(index, { categoryPath: 'digital-camera' })).toEqual([camera.id]);
      });

      it('when filtering by price, free, status, condition and trade method, then each narrows the results and they combine', async () => {
        const free = listing({ price: 0, condition: 'like_new', tradeMethods: ['meet_up'] });
        const cheap = listing({ price: 5_000, condition: 'used', tradeMethods: ['parcel', 'meet_up'] });
        const mid = listing({ price: 20_000, condition: 'new', tradeMethods: ['convenience_store'], status: 'reserved' });
        const dear = listing({ price: 300_000, condition: 'for_parts', tradeMethods: ['parcel'] });
        const index = await fresh([free, cheap, mid, dear]);
        expect((await ids(index, { minPrice: 5_000, maxPrice: 20_000 })).sort()).toEqual([cheap.id, mid.id].sort());
        expect(await ids(index, { free: true })).toEqual([free.id]);
        expect((await ids(index, { free: false })).sort()).toEqual([cheap.id, mid.id, dear.id].sort());
        expect(await ids(index, { status: 'reserved' })).toEqual([mid.id]);
        expect(await ids(index, { condition: 'for_parts' })).toEqual([dear.id]);
        expect((await ids(index, { tradeMethod: 'parcel' })).sort()).toEqual([cheap.id, dear.id].sort());
        expect(await ids(index, { tradeMethod: 'parcel', maxPrice: 10_000 })).toEqual([cheap.id]);
      });

      it('when searching near a point, then only listings within the radius match, each with its distance', async () => {
        const here = listing({ ...MANGWON });
        const next = listing({ ...HAPJEONG });
        const far = listing({ ...YEOKSAM });
        const index = await fresh([here, next, far]);
        const near = await index.search({ near: { ...MANGWON, radiusMeters: 3_000 }, sort: 'distance', limit: 10 });
        expect(near.items.map((h) => h.doc.id)).toEqual([here.id, next.id]);
        expect(near.items[0]!.distanceMeters).toBeLessThan(1);
        const expected = metresBetween(MANGWON, HAPJEONG);
        expect(near.items[1]!.distanceMeters).toBeGreaterThan(expected * 0.995);
        expect(near.items[1]!.distanceMeters).toBeLessThan(expected * 1.005);
        expect(await ids(index, { near: { ...MANGWON, radiusMeters: 500 } })).toEqual([here.id]);
        expect((await ids(index, { near: { ...MANGWON, radiusMeters: 20_000 } })).sort()).toEqual([here.id, next.id, far.id].sort());
      });

      it('when filtering by a set of dongs, then only listings in them match, and distances come from the origin', async () => {
        const here = listing({ ...MANGWON });
        const next = listing({ ...HAPJEONG });
        const far = listing({ ...YEOKSAM });
        const index = await fresh([here, next, far]);
        const page = await index.search({ dongCodes: [MANGWON.dongCode, HAPJEONG.dongCode], origin: MANGWON, sort: 'distance', limit: 10 });
        expect(page.items.map((h) => h.doc.id)).toEqual([here.id, next.id]);
        expect(page.items[1]!.distanceMeters).toBeGreaterThan(1000);
        // No dong (a point far from every dong): nothing matches.
        expect((await index.search({ dongCodes: [], origin: MANGWON, sort: 'recent', limit: 10 })).items).toEqual([]);
      });
    });

    describe('dong feeds, newest first', () => {
      it('when a few dongs are paged newest first, then the pages interleave the dongs in one order, with no listing skipped or repeated, and other filters still apply', async () => {
        // Interleaved posting times across three dongs, one listing outside them, one hidden by a filter.
        const docs = Array.from({ length: 9 }, (_, i) => listing({ ...[MANGWON, HAPJEONG, MANGWON, HAPJEONG, MANGWON, HAPJEONG, MANGWON, MANGWON, HAPJEONG][i]!, price: 1_000 + i }));
        const elsewhere = listing({ ...YEOKSAM });
        const reserved = listing({ ...MANGWON, status: 'reserved' });
        const index = await fresh([...docs, elsewhere, reserved]);
        const expected = [...docs].sort((a, b) => b.bumpedAt.localeCompare(a.bumpedAt) || b.id.localeCompare(a.id)).map((d) => d.id);
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await index.search({ dongCodes: [MANGWON.dongCode, HAPJEONG.dongCode], status: 'on_sale', sort: 'recent', limit: 4, ...(cursor ? { cursor } : {}) });
          seen.push(...page.items.map((h) => h.doc.id));
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        expect(seen).toEqual(expected);
      });
    });

    describe('sorts and cursors', () => {
      const sample = () => {
        const points = [MANGWON, HAPJEONG, YEOKSAM];
        // Ties on every sort key, so the id tie-break is exercised.
        return Array.from({ length: 23 }, (_, i) =>
          listing({
            title: `정렬 테스트 ${i}`,
            price: [1_000, 5_000, 5_000, 0, 12_000][i % 5]!,
            likeCount: [3, 0, 7, 3][i % 4]!,
            bumpedAt: new Date(Date.UTC(2026, 10, 2, i % 6)).toISOString(),
            ...points[i % 3]!,
          }),
        );
      };
      const byKey = <K extends string | number>(docs: SearchDocument[], key: (d: SearchDocument) => K, dir: 'asc' | 'desc') =>
        [...docs]
          .sort((a, b) => {
            const [x, y] = [key(a), key(b)];
            if (x !== y) return (x < y ? -1 : 1) * (dir === 'asc' ? 1 : -1);
            return (a.id < b.id ? -1 : 1) * (dir === 'asc' ? 1 : -1);
          })
          .map((d) => d.id);

      it('when paging through every sort with small pages, then each listing comes once, in the sort order with ties broken by id', async () => {
        const docs = sample();
        const index = await fresh(docs);
        const q = '정렬';
        expect((await walk(index, { q, sort: 'recent', limit: 4 })).ids).toEqual(byKey(docs, (d) => d.bumpedAt, 'desc'));
        expect((await walk(index, { q, sort: 'price_asc', limit: 4 })).ids).toEqual(byKey(docs, (d) => d.price, 'asc'));
        expect((await walk(index, { q, sort: 'price_desc', limit: 5 })).ids).toEqual(byKey(docs, (d) => d.price, 'desc'));
        expect((await walk(index, { q, sort: 'popular', limit: 3 })).ids).toEqual(byKey(docs, (d) => d.likeCount, 'desc'));
        const distance = await walk(index, { q, sort: 'distance', near: { ...MANGWON, radiusMeters: 50_000 }, limit: 4 });
        expect(distance.ids).toEqual(byKey(docs, (d) => metresBetween(MANGWON, d), 'asc'));
        expect(distance.pages).toBe(6);
      });

      it('when listings are added while paging, then no listing already passed comes again and none is skipped', async () => {
        const docs = sample();
        const index = await fresh(docs);
        const query = { q: '정렬', sort: 'price_asc' as const, limit: 5 };
        const first = await index.search(query);
        // Cheaper than everything seen: belongs before the cursor, so not on later pages.
        await index.index(listing({ title: '정렬 테스트 새것', price: 0, id: 'prd_0000' }));
        const seen = first.items.map((h) => h.doc.id);
        for (let cursor = first.nextCursor; cursor; ) {
          const page = await index.search({ ...query, cursor });
          seen.push(...page.items.map((h) => h.doc.id));
          cursor = page.nextCursor;
        }
        expect(new Set(seen).size).toBe(seen.length);
        expect(seen.sort()).toEqual(docs.map((d) => d.id).sort());
      });

      it('when nearest first is asked over dongs whose points are given, then every page, distance and cursor is what it is without them', async () => {
        // Each dong's listings at its point (as the feeder writes them); ties within a dong, a
        // listing outside the dongs, one hidden, one filtered out.
        const points = [MANGWON, HAPJEONG, YEOKSAM];
        const docs = Array.from({ length: 14 }, (_, i) => listing({ ...points[i % 3]!, condition: i % 5 === 0 ? 'new' : 'used' }));
        const outside = listing({ dongCode: '4794025000', dongName: '울릉읍', lat: 37.481114, lng: 130.901756 });
        const hidden = listing({ ...MANGWON, status: 'hidden' });
        const index = await fresh([...docs, outside, hidden]);
        const origin = { lat: 37.5521, lng: 126.9105 };
        const dongPoints = points.map(({ dongCode, lat, lng }) => ({ code: dongCode, lat, lng }));
        const base = { sort: 'distance' as const, dongCodes: points.map((d) => d.dongCode), origin, condition: 'used' as const };
        const pages = async (query: SearchQuery) => {
          const seen: [string, number | undefined][] = [];
          const cursors: (string | null)[] = [];
          let cursor: string | undefined;
          do {
            const page = await index.search({ ...query, ...(cursor ? { cursor } : {}) });
            seen.push(...page.items.map((h): [string, number | undefined] => [h.doc.id, h.distanceMeters]));
            cursors.push(page.nextCursor);
            cursor = page.nextCursor ?? undefined;
          } while (cursor);
          return { seen, cursors };
        };
        for (const limit of [1, 3, 4, 20]) {
          const walked = await pages({ ...base, limit, dongPoints });
          expect(walked).toEqual(await pages({ ...base, limit }));
          expect(walked.seen.map(([id]) => id)).toEqual(byKey(docs.filter((d) => d.condition === 'used'), (d) => metresBetween(origin, d), 'asc'));
        }
        // A cursor of one serves the other: the points are not part of the query's identity.
        const first = await index.search({ ...base, limit: 2 });
        expect((await index.search({ ...base, limit: 2, dongPoints, cursor: first.nextCursor! })).items).toEqual((await index.search({ ...base, limit: 2, cursor: first.nextCursor! })).items);
        await expect(index.search({ ...base, limit: 2, dongPoints: dongPoints.slice(1) })).rejects.toThrow(/dongPoints/);
      });

      it('when a cursor is used with other filters, another sort, or altered, then the query fails with invalid_cursor', async () => {
        const index = await fresh(sample());
        const { nextCursor } = await index.search({ q: '정렬', sort: 'recent', limit: 2 });
        expect(nextCursor).toEqual(expect.any(String));
        await expect(index.search({ q: '정렬', sort: 'price_asc', limit: 2, cursor: nextCursor! })).rejects.toBeInstanceOf(InvalidCursorError);
        await expect(index.search({ q: '테스트', sort: 'recent', limit: 2, cursor: nextCursor! })).rejects.toBeInstanceOf(InvalidCursorError);
        await expect(index.search({ q: '정렬', sort: 'recent', limit: 2, maxPrice: 5, cursor: nextCursor! })).rejects.toBeInstanceOf(InvalidCursorError);
        const decoded = JSON.parse(Buffer.from(nextCursor!, 'base64url').toString()) as unknown[];
        const forged = Buffer.from(JSON.stringify(['1970-01-01T00:00:00.000Z', ...decoded.slice(1)])).toString('base64url');
        await expect(index.search({ q: '정렬', sort: 'recent', limit: 2, cursor: forged })).rejects.toBeInstanceOf(InvalidCursorError);
        await expect(index.search({ q: '정렬', sort: 'recent', limit: 2, cursor: 'bm90LWpzb24' })).rejects.toBeInstanceOf(InvalidCursorError);
        // The same query with another page size is the same query.
        expect((await index.search({ q: '정렬', sort: 'recent', limit: 3, cursor: nextCursor! })).items).toHaveLength(3);
      });
    });

    describe('suggest', () => {
      it('when typing the start of a title or of a word in it, then matching titles come back once each, most liked first', async () => {
        const docs = [
          listing({ title: '아이폰 14 프로', likeCount: 1 }),
          listing({ title: '아이폰 14 프로', likeCount: 9 }),
          listing({ title: '아이패드 에어 5세대', likeCount: 4 }),
          listing({ title: 'Apple iPhone 15', likeCount: 2 }),
          listing({ title: '아이폰 케이스', likeCount: 0, status: 'hidden' }),
        ];
        const index = await fresh(docs);
        expect(await index.suggest('아이', 10)).toEqual([{ text: '아이폰 14 프로' }, { text: '아이패드 에어 5세대' }]);
        expect(await index.suggest('아이폰 1', 10)).toEqual([{ text: '아이폰 14 프로' }]);
        expect(await index.suggest('IPH', 10)).toEqual([{ text: 'Apple iPhone 15' }]);
        expect(await index.suggest('폰', 10)).toEqual([]);
        expect(await index.suggest('아이', 1)).toHaveLength(1);
      });
    });

    describe('rebuild', () => {
      it('when the index is rebuilt while a reader searches, then the reader sees the old or the new complete set, never a part', async () => {
        const old = Array.from({ length: 15 }, () => listing({ title: '재구축 이전' }));
        const index = await fresh(old);
        // A leaf category's feed: on PostgreSQL a prepared statement, which after five runs keeps
        // a generic plan on its connection; it must follow the swap to the rebuilt table.
        const feed = async () => (await index.search({ categoryPath: 'furniture/chair', categoryLeaf: true, sort: 'recent', limit: 100 })).items.map((h) => h.doc.title);
        for (let i = 0; i < 8; i++) expect(await feed()).toEqual(old.map(() => '재구축 이전'));
        const fresh2 = Array.from({ length: 20 }, () => listing({ title: '재구축 이후' }));
        const seen: string[] = [];
        let stop = false;
        const classify = async () => {
          // One query, so one snapshot.
          const { items } = await index.search({ q: '재구축', sort: 'recent', limit: 100 });
          const a = items.filter((h) => h.doc.title === '재구축 이전').length;
          const b = items.filter((h) => h.doc.title === '재구축 이후').length;
          if (a === 15 && b === 0) return 'old';
          if (a === 0 && b === 20) return 'new';
          return `partial(${a},${b})`;
        };
        const reader = (async () => {
          while (!stop) seen.push(await classify().catch((err: Error) => `error: ${err.message}`));
        })();
        await index.rebuild(async (shadow) => {
          for (const d of fresh2) {
            await shadow.index(d);
            await sleep(2);
          }
        });
        await sleep(50);
        stop = true;
        await reader;
        expect(seen.filter((s) => s !== 'old' && s !== 'new')).toEqual([]);
        expect(seen).toContain('old');
        expect(seen.at(-1)).toBe('new');
        expect(await index.get(old[0]!.id)).toBeNull();
        // The rebuilt index takes writes and keeps its indexes' behaviour.
        await index.index(listing({ title: '재구축 이후', price: 1 }));
        expect(await ids(index, { q: '재구축 이후', maxPrice: 1 })).toHaveLength(1);
        for (let i = 0; i < 3; i++) expect(await feed()).toEqual(Array.from({ length: 21 }, () => '재구축 이후'));
      });

      it('when the fill fails, then the live index is untouched and the error propagates', async () => {
        const doc = listing({ title: '그대로 남는 책상' });
        const index = await fresh([doc]);
        await expect(
          index.rebuild(async (shadow) => {
            await shadow.index(listing());
            throw new Error('fill failed');
          }),
        ).rejects.toThrow('fill failed');
        expect(await ids(index, { q: '책상' })).toEqual([doc.id]);
      });
    });
  });
}

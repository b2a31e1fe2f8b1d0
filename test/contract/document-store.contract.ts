import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { InvalidCursorError } from '../../src/platform/pagination/cursor';
import {
  type Collection,
  type CollectionSpec,
  type Doc,
  type DocumentStore,
  type FindQuery,
} from '../../src/platform/documents';

/** An adapter under test, with the one thing the port deliberately lacks: dropping a collection. */
export interface StoreUnderTest {
  store: DocumentStore;
  /** Drops the live collection and any shadow of it (test clean-up only). */
  drop(name: string): Promise<void>;
}

interface Listing extends Doc {
  title?: string;
  price?: number | null;
  listedAt?: string;
  sold?: boolean;
  gen?: string;
}

const listingIndexes: CollectionSpec['indexes'] = [
  { field: 'price', type: 'number' },
  { field: 'title', type: 'string' },
  { field: 'listedAt', type: 'date' },
  { field: 'sold', type: 'boolean' },
];

const TITLES = ['아이폰 15 프로 팝니다', '갤럭시 S24 울트라', '나이키 운동화 270', '다이슨 청소기', '아이폰 15 프로 팝니다', 'Zebra pen', '가죽 지갑'];
const PRICES = [25_000, 10_000, 25_000, 5_000, null, 120_000, 25_000, 10_000];

/** 26 listings with ties on every field and two without a price. */
function listings(): Listing[] {
  return Array.from({ length: 26 }, (_, i) => {
    const doc: Listing = {
      id: `p-${String(i).padStart(2, '0')}`,
      version: 1,
      title: TITLES[i % TITLES.length]!,
      listedAt: new Date(Date.UTC(2026, 0, 1, i % 9)).toISOString(),
      sold: i % 4 === 0,
    };
    const price = PRICES[i % PRICES.length];
    if (price !== null) doc.price = price;
    else if (i % 16 === 4) doc.price = null; // some null, some missing: both sort as "no value"
    return doc;
  });
}

/** The port's order: missing/null lowest, ties by id, desc the exact reverse of asc. */
function expectedOrder(docs: Listing[], field: keyof Listing | 'id', direction: 'asc' | 'desc'): string[] {
  const value = (d: Listing) => (d[field] ?? null) as string | number | boolean | null;
  const sorted = [...docs].sort((a, b) => {
    const [x, y] = [value(a), value(b)];
    if (x !== y) {
      if (x === null) return -1;
      if (y === null) return 1;
      return x < y ? -1 : 1;
    }
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
  const ids = sorted.map((d) => d.id);
  return direction === 'asc' ? ids : ids.reverse();
}

async function walk<T extends Doc>(c: Collection<T>, query: Omit<FindQuery, 'cursor'>): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await c.find({ ...query, cursor });
    pages++;
    expect(page.items.length).toBeLessThanOrEqual(query.limit);
    ids.push(...page.items.map((d) => d.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor && pages < 100);
  return { ids, pages };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function shuffle<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function cursorError(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error('expected the cursor to be refused'),
    (err: unknown) => err,
  );
}

/** The behaviour every DocumentStore adapter must have, run against a real store. */
export function documentStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`DocumentStore contract: ${name}`, () => {
    let subject: StoreUnderTest;
    beforeAll(async () => {
      subject = await makeStore();
    });
    afterAll(() => subject?.store.close());

    /** A uniquely named collection, dropped when the test ends (passed or failed). */
    function uniqueSpec(indexes: CollectionSpec['indexes'] = listingIndexes): CollectionSpec {
      const spec = { name: `t_${randomBytes(6).toString('hex')}`, indexes };
      onTestFinished(() => subject.drop(spec.name));
      return spec;
    }

    describe('upsert, get, delete, count', () => {
      it('when a document is upserted, then get returns it as written; after delete, get returns null', async () => {
        const c = await subject.store.collection<Listing>(uniqueSpec());
        // Empty objects and arrays too (a projection's `specifications: {}`): Mongoose drops empty objects unless told not to.
        const doc: Listing = { id: 'p-1', version: 3, title: '자전거', price: 150_000, sold: false, extra: { nested: [1, 'two'], empty: {}, none: [] }, specifications: {} };
        expect(await c.upsert(doc)).toBe(true);
        expect(await c.get('p-1')).toEqual(doc);
        expect(await c.get('p-missing')).toBeNull();
        expect(await c.count()).toBe(1);
        expect(await c.delete('p-1')).toBe(true);
        expect(await c.get('p-1')).toBeNull();
        expect(await c.delete('p-1')).toBe(false);
        expect(await c.count()).toBe(0);
      });

      it('when a date field is given as a Date or an ISO string with an offset, then it is stored as an ISO-8601 UTC string', async () => {
        const c = await subject.store.collection<Listing>(uniqueSpec());
        await c.upsert({ id: 'a', version: 1, listedAt: new Date(Date.UTC(2026, 2, 1, 12)) as unknown as string });
        await c.upsert({ id: 'b', version: 1, listedAt: '2026-03-01T21:00:00+09:00' });
        expect((await c.get('a'))?.listedAt).toBe('2026-03-01T12:00:00.000Z');
        expect((await c.get('b'))?.listedAt).toBe('2026-03-01T12:00:00.000Z');
      });

      it('when a declared field has the wrong type, or the version is not an integer, then upsert throws and nothing is written', async () => {
        const c = await subject.store.collection<Listing>(uniqueSpec());
        await expect(c.upsert({ id: 'x', version: 1, price: '5000' as unknown as number })).rejects.toThrow(/price/);
        await expect(c.upsert({ id: 'x', version: 1, listedAt: '2026-03-01 12:00' })).rejects.toThrow(/listedAt/);
        await expect(c.upsert({ id: 'x', version: 1.5 })).rejects.toThrow(/version/);
        expect(await c.count()).toBe(0);
      });
    });

    describe('conditional upsert', () => {
      it('when the stored version is newer or equal, then the write is refused and the stored document is unchanged', async () => {
        const c = await subject.store.collection<Listing>(uniqueSpec());
        expect(await c.upsert({ id: 'p', version: 2, title: 'v2', price: 2 })).toBe(true);
        expect(await c.upsert({ id: 'p', version: 1, title: 'v1' })).toBe(false);
        expect(await c.upsert({ id: 'p', version: 2, title: 'v2 again' })).toBe(false);
        expect(await c.get('p')).toEqual({ id: 'p', version: 2, title: 'v2', price: 2 });
      });

      it('when a newer version is written, then it replaces the whole document (fields it lacks are gone)', async () => {
        const c = await subject.store.collection<Listing>(uniqueSpec());
        await c.upsert({ id: 'p', version: 1, title: 'old', price: 1 });
        expect(await c.upsert({ id: 'p', version: 5, title: 'new' })).toBe(true);
        expect(await c.get('p')).toEqual({ id: 'p', version: 5, title: 'new' });
        expect((await c.find({ where: [{ field: 'price', op: 'eq', value: 1 }], limit: 10 })).items).toEqual([]);
      });

      it('when versions 1..20 of several documents are upserted concurrently in random order, then each ends at version 20', async () => {
        const c = await subject.store.collection<Listing>(uniqueSpec());
        const writes = shuffle(['a', 'b', 'c', 'd', 'e'].flatMap((id) => Array.from({ length: 20 }, (_, i) => ({ id, version: i + 1, title: `${id}@${i + 1}` }))));
        const results = await Promise.all(writes.map(async (d) => ({ d, written: await c.upsert(d) })));
        for (const id of ['a', 'b', 'c', 'd', 'e']) {
          expect(await c.get(id)).toEqual({ id, version: 20, title: `${id}@20` });
          // Nothing newer existed when 20 arrived, so it must have been written.
          expect(results.find((r) => r.d.id === id && r.d.version === 20)?.written).toBe(true);
        }
        expect(await c.count()).toBe(5);
      });

      it('when several versions of one new id race to be its first write, then the newest is what stays', async () => {
        // Every round a fresh id, so each race is between inserts (MongoDB retries a colliding
        // upsert by itself only for a pure equality filter on _id; ours is not).
        const c = await subject.store.collection<Listing>(uniqueSpec());
        for (let round = 0; round < 10; round++) {
          const id = `new-${round}`;
          const writes = shuffle(Array.from({ length: 6 }, (_, i) => ({ id, version: i + 1, title: `${id}@${i + 1}` })));
          const results = await Promise.all(writes.map(async (d) => ({ d, written: await c.upsert(d) })));
          expect(await c.get(id)).toEqual({ id, version: 6, title: `${id}@6` });
          expect(results.find((r) => r.d.version === 6)?.written).toBe(true);
        }
      });
    });

    describe('find: filters', () => {
      const docs = listings();
      const ids = (pred: (d: Listing) => boolean) => expectedOrder(docs.filter(pred), 'id', 'asc');
      const at = (h: number) => new Date(Date.UTC(2026, 0, 1, h)).toISOString();
      const cases: { when: string; where: FindQuery['where']; expected: string[] }[] = [
        { when: 'number eq', where: [{ field: 'price', op: 'eq', value: 25_000 }], expected: ids((d) => d.price === 25_000) },
        { when: 'number gt', where: [{ field: 'price', op: 'gt', value: 10_000 }], expected: ids((d) => d.price != null && d.price > 10_000) },
        { when: 'number gte + lte', where: [{ field: 'price', op: 'gte', value: 10_000 }, { field: 'price', op: 'lte', value: 25_000 }], expected: ids((d) => d.price != null && d.price >= 10_000 && d.price <= 25_000) },
        { when: 'number lt', where: [{ field: 'price', op: 'lt', value: 10_000 }], expected: ids((d) => d.price != null && d.price < 10_000) },
        { when: 'Korean string eq', where: [{ field: 'title', op: 'eq', value: '아이폰 15 프로 팝니다' }], expected: ids((d) => d.title === '아이폰 15 프로 팝니다') },
        { when: 'string range', where: [{ field: 'title', op: 'gte', value: '나' }, { field: 'title', op: 'lt', value: '아' }], expected: ids((d) => d.title! >= '나' && d.title! < '아') },
        { when: 'date range', where: [{ field: 'listedAt', op: 'gte', value: at(3) }, { field: 'listedAt', op: 'lt', value: '2026-01-01T15:00:00+09:00' }], expected: ids((d) => d.listedAt! >= at(3) && d.listedAt! < at(6)) },
        { when: 'boolean eq true', where: [{ field: 'sold', op: 'eq', value: true }], expected: ids((d) => d.sold === true) },
        { when: 'boolean eq false + number gte', where: [{ field: 'sold', op: 'eq', value: false }, { field: 'price', op: 'gte', value: 25_000 }], expected: ids((d) => !d.sold && d.price != null && d.price >= 25_000) },
        { when: 'id gt', where: [{ field: 'id', op: 'gt', value: 'p-20' }], expected: ids((d) => d.id > 'p-20') },
        { when: 'no match', where: [{ field: 'price', op: 'eq', value: 1 }], expected: [] },
      ];
      let c: Collection<Listing>;
      beforeAll(async () => {
        const spec = { name: `t_${randomBytes(6).toString('hex')}`, indexes: listingIndexes };
        c = await subject.store.collection<Listing>(spec);
        await Promise.all(docs.map((d) => c.upsert(d)));
        return () => subject.drop(spec.name);
      });

      it('the expectations themselves are not trivial', () => {
        for (const { when, expected } of cases) if (when !== 'no match') expect(expected.length, when).toBeGreaterThan(0);
        for (const { when, expected } of cases) expect(expected.length, when).toBeLessThan(docs.length);
      });

      it.each(cases)('when filtering by $when, then exactly the matching documents come back, by id', async ({ where, expected }) => {
        const page = await c.find({ where, limit: 500 });
        expect(page.items.map((d) => d.id)).toEqual(expected);
        expect(page.nextCursor).toBeNull();
      });

      it('when filtering on a field that is not declared, then it throws naming the field', async () => {
        await expect(c.find({ where: [{ field: 'color', op: 'eq', value: 'red' }], limit: 10 })).rejects.toThrow(/"color"/);
        await expect(c.find({ sort: { field: 'version', direction: 'asc' }, limit: 10 })).rejects.toThrow(/"version"/);
      });

      it('when a filter value has the wrong type or the limit is out of range, then it throws', async () => {
        await expect(c.find({ where: [{ field: 'price', op: 'eq', value: '25000' }], limit: 10 })).rejects.toThrow(/price/);
        await expect(c.find({ where: [{ field: 'listedAt', op: 'gte', value: 'yesterday' }], limit: 10 })).rejects.toThrow(/listedAt/);
        await expect(c.find({ limit: 0 })).rejects.toThrow(RangeError);
        await expect(c.find({ limit: 501 })).rejects.toThrow(RangeError);
      });
    });

    describe('find: sort and cursor pagination', () => {
      const docs = listings();
      let c: Collection<Listing>;
      beforeAll(async () => {
        const spec = { name: `t_${randomBytes(6).toString('hex')}`, indexes: listingIndexes };
        c = await subject.store.collection<Listing>(spec);
        await Promise.all(docs.map((d) => c.upsert(d)));
        return () => subject.drop(spec.name);
      });

      const sorts = (['price', 'title', 'listedAt', 'sold', 'id'] as const).flatMap((field) => (['asc', 'desc'] as const).map((direction) => ({ field, direction })));

      it.each(sorts)('when sorted by $field $direction, then ties are broken by id in the same direction and missing values come first ascending', async ({ field, direction }) => {
        const page = await c.find({ sort: { field, direction }, limit: 500 });
        expect(page.items.map((d) => d.id)).toEqual(expectedOrder(docs, field, direction));
      });

      it.each(sorts)('when walking sorted by $field $direction 4 at a time, then every document comes exactly once, in order, and the last page has no cursor', async ({ field, direction }) => {
        const { ids, pages } = await walk(c, { sort: { field, direction }, limit: 4 });
        expect(ids).toEqual(expectedOrder(docs, field, direction));
        expect(new Set(ids).size).toBe(docs.length);
        expect(pages).toBe(Math.ceil(docs.length / 4));
      });

      it('when walking a filtered query whose size is a multiple of the page size, then there is no trailing empty page', async () => {
        const where = [{ field: 'price', op: 'gte' as const, value: 10_000 }];
        const expected = expectedOrder(docs.filter((d) => d.price != null && d.price >= 10_000), 'listedAt', 'desc');
        expect(expected.length % 4).toBe(0);
        const { ids, pages } = await walk(c, { where, sort: { field: 'listedAt', direction: 'desc' }, limit: 4 });
        expect(ids).toEqual(expected);
        expect(pages).toBe(expected.length / 4);
      });

      it('when a cursor is reused with another page size, then it continues where it left off', async () => {
        const first = await c.find({ sort: { field: 'title', direction: 'asc' }, limit: 5 });
        const rest = await c.find({ sort: { field: 'title', direction: 'asc' }, limit: 500, cursor: first.nextCursor! });
        expect([...first.items, ...rest.items].map((d) => d.id)).toEqual(expectedOrder(docs, 'title', 'asc'));
      });

      it('when a cursor is used with other filters or another sort, then it is refused with invalid_cursor', async () => {
        const query: FindQuery = { where: [{ field: 'price', op: 'gte', value: 10_000 }], sort: { field: 'price', direction: 'asc' }, limit: 3 };
        const { nextCursor } = await c.find(query);
        expect(nextCursor).toEqual(expect.any(String));
        const cursor = nextCursor!;
        const refusals = [
          c.find({ ...query, where: [{ field: 'price', op: 'gte', value: 10_001 }], cursor }),
          c.find({ ...query, where: [], cursor }),
          c.find({ ...query, sort: { field: 'price', direction: 'desc' }, cursor }),
          c.find({ ...query, sort: { field: 'listedAt', direction: 'asc' }, cursor }),
        ];
        for (const refusal of refusals) {
          const err = await cursorError(refusal);
          expect(err).toBeInstanceOf(InvalidCursorError);
          expect(err).toMatchObject({ code: 'invalid_cursor', status: 400 });
        }
        // The same filters in another order are the same query.
        const reordered = await c.find({ ...query, where: [...query.where!].reverse(), cursor });
        expect(reordered.items.length).toBeGreaterThan(0);
      });

      it('when a cursor is altered or is not a cursor, then it is refused with invalid_cursor', async () => {
        const query: FindQuery = { sort: { field: 'price', direction: 'asc' }, limit: 3 };
        const { nextCursor } = await c.find(query);
        const decoded = JSON.parse(Buffer.from(nextCursor!, 'base64url').toString('utf8')) as unknown[];
        const moved = Buffer.from(JSON.stringify([999_999, ...decoded.slice(1)])).toString('base64url');
        const retyped = Buffer.from(JSON.stringify(["1; DROP TABLE x", ...decoded.slice(1)])).toString('base64url');
        for (const cursor of [moved, retyped, `${nextCursor!.slice(0, -2)}xx`, 'not-a-cursor', '', 'W10']) {
          const err = await cursorError(c.find({ ...query, cursor }));
          expect(err, cursor).toBeInstanceOf(InvalidCursorError);
          expect(err).toMatchObject({ code: 'invalid_cursor' });
        }
      });
    });

    describe('Korean text', () => {
      it('when Korean values are stored, then they round-trip, match by equality and sort in 가나다 order', async () => {
        const c = await subject.store.collection<Listing>(uniqueSpec());
        const titles = ['다이슨 에어랩 (미개봉)', '가방 – 거의 새것 👜', '나무 책상', '다이슨 에어랩'];
        await Promise.all(titles.map((title, i) => c.upsert({ id: `k${i}`, version: 1, title, note: `서울시 마포구 ${i}번지` })));
        expect(await c.get('k1')).toEqual({ id: 'k1', version: 1, title: '가방 – 거의 새것 👜', note: '서울시 마포구 1번지' });
        const exact = await c.find({ where: [{ field: 'title', op: 'eq', value: '다이슨 에어랩' }], limit: 10 });
        expect(exact.items.map((d) => d.id)).toEqual(['k3']);
        const sorted = await c.find({ sort: { field: 'title', direction: 'asc' }, limit: 10 });
        expect(sorted.items.map((d) => d.title)).toEqual(['가방 – 거의 새것 👜', '나무 책상', '다이슨 에어랩', '다이슨 에어랩 (미개봉)']);
      });
    });

    describe('collection()', () => {
      it('when two processes declare the same collection at once, then both succeed and see the same data', async () => {
        const other = await makeStore();
        onTestFinished(() => other.store.close());
        const spec = uniqueSpec();
        const declared = await Promise.all([
          subject.store.collection<Listing>(spec),
          other.store.collection<Listing>(spec),
          subject.store.collection<Listing>(spec),
          other.store.collection<Listing>(spec),
        ]);
        expect(await declared[0]!.upsert({ id: 'x', version: 1, title: '같은 컬렉션' })).toBe(true);
        for (const c of declared) expect(await c.get('x')).toEqual({ id: 'x', version: 1, title: '같은 컬렉션' });
        // Declaring again leaves the data in place.
        const again = await other.store.collection<Listing>(spec);
        expect(await again.count()).toBe(1);
      });

      it('when the spec is not valid, then collection() throws', async () => {
        await expect(subject.store.collection({ name: 'Bad-Name', indexes: [] })).rejects.toThrow(/Bad-Name/);
        await expect(subject.store.collection({ name: 'a__b', indexes: [] })).rejects.toThrow(/a__b/);
        await expect(subject.store.collection({ name: 'ok', indexes: [{ field: "x'); DROP", type: 'string' }] })).rejects.toThrow(/DROP/);
      });
    });

    describe('rebuild', () => {
      it('when a collection is rebuilt while a reader polls it, then the reader sees the old or the new complete set, never a part, and the old data is gone', async () => {
        const spec = uniqueSpec();
        const c = await subject.store.collection<Listing>(spec);
        const oldIds = Array.from({ length: 30 }, (_, i) => `old-${String(i).padStart(2, '0')}`);
        const newIds = Array.from({ length: 40 }, (_, i) => `new-${String(i).padStart(2, '0')}`);
        await Promise.all(oldIds.map((id) => c.upsert({ id, version: 1, gen: 'old', price: 1 })));

        const seen: string[] = [];
        let stop = false;
        const classify = (items: Listing[]) => {
          const ids = items.map((d) => d.id).join(',');
          if (ids === oldIds.join(',') && items.every((d) => d.gen === 'old')) return 'old';
          if (ids === newIds.join(',') && items.every((d) => d.gen === 'new')) return 'new';
          return `partial(${items.length})`;
        };
        const reader = (async () => {
          while (!stop) {
            seen.push(await c.find({ limit: 500 }).then((p) => classify(p.items), (err: Error) => `error: ${err.message}`));
          }
        })();
        const readsAtLeast = async (n: number) => {
          while (seen.length < n) await sleep(2);
        };

        await subject.store.rebuild<Listing>(spec, async (shadow) => {
          for (let i = 0; i < newIds.length; i += 5) {
            await Promise.all(newIds.slice(i, i + 5).map((id) => shadow.upsert({ id, version: 1, gen: 'new', price: 2 })));
            // Let the reader look at the live collection between every batch.
            await readsAtLeast(seen.length + 1);
          }
        });
        await readsAtLeast(seen.length + 2);
        stop = true;
        await reader;

        expect(seen.filter((s) => s !== 'old' && s !== 'new')).toEqual([]);
        const firstNew = seen.indexOf('new');
        expect(firstNew).toBeGreaterThan(0);
        expect(seen.slice(0, firstNew).length).toBeGreaterThanOrEqual(8); // it did read during the fill
        expect(seen.slice(firstNew).every((s) => s === 'new')).toBe(true); // and never went back
        expect(await c.count()).toBe(40);
        expect(await c.get('old-00')).toBeNull();
        expect((await c.find({ where: [{ field: 'price', op: 'eq', value: 2 }], limit: 500 })).items).toHaveLength(40);
      });

      it('when the fill fails, then the live collection is untouched and the error propagates', async () => {
        const spec = uniqueSpec();
        const c = await subject.store.collection<Listing>(spec);
        await c.upsert({ id: 'keep', version: 1, title: '그대로' });
        await expect(
          subject.store.rebuild<Listing>(spec, async (shadow) => {
            await shadow.upsert({ id: 'half', version: 1 });
            throw new Error('projection failed');
          }),
        ).rejects.toThrow('projection failed');
        expect(await c.get('keep')).toEqual({ id: 'keep', version: 1, title: '그대로' });
        expect(await c.get('half')).toBeNull();
        expect(await c.count()).toBe(1);
      });

      it('when two rebuilds of one collection run at once, then the result is one complete set, not a mix', async () => {
        const spec = uniqueSpec();
        const c = await subject.store.collection<Listing>(spec);
        const fillWith = (gen: string) => async (shadow: Collection<Listing>) => {
          for (let i = 0; i < 10; i++) {
            await shadow.upsert({ id: `${gen}-${i}`, version: 1, gen });
            await sleep(1);
          }
        };
        await Promise.all([subject.store.rebuild(spec, fillWith('a')), subject.store.rebuild(spec, fillWith('b'))]);
        const { items } = await c.find({ limit: 500 });
        const gens = new Set(items.map((d) => d.gen));
        expect(gens.size).toBe(1);
        expect(items).toHaveLength(10);
      });

      it('when a collection that was never declared is rebuilt, then it exists afterwards with the filled data and its indexes', async () => {
        const spec = uniqueSpec();
        await subject.store.rebuild<Listing>(spec, async (shadow) => {
          await shadow.upsert({ id: 'n1', version: 7, price: 3, title: '새 컬렉션' });
        });
        const c = await subject.store.collection<Listing>(spec);
        expect(await c.get('n1')).toEqual({ id: 'n1', version: 7, price: 3, title: '새 컬렉션' });
        expect((await c.find({ where: [{ field: 'price', op: 'eq', value: 3 }], limit: 1 })).items).toHaveLength(1);
      });
    });
  });
}

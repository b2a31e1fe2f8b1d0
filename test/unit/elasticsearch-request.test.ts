import { describe, expect, it } from 'vitest';
import type { Client } from '@elastic/elasticsearch';
import { createLogger } from '../../src/platform/logger';
import { ElasticsearchSearchIndex, SEARCH_MAPPING_VERSION, searchRequest } from '../../src/platform/search/elasticsearch-search-index';
import { planSearch, SearchQueryError, toSearchPage, type SearchDocument } from '../../src/platform/search/search-index';

// What the Elasticsearch adapter asks the cluster, checked without one (no cluster runs here; the
// contract suite runs the adapter end to end when ELASTICSEARCH_URL is set).

const MANGWON = { lat: 37.5563, lng: 126.9019 };
const filters = (q: Parameters<typeof searchRequest>[0]) => (searchRequest(q, 'junggo-listings').request.query as { bool: { filter: unknown[] } }).bool.filter;

describe('Elasticsearch search request', () => {
  it('when a query has every filter, then each becomes one filter clause and only searchable listings are asked for', () => {
    const f = filters({
      q: '아이폰 폰',
      categoryPath: 'digital/phones',
      minPrice: 1_000,
      maxPrice: 50_000,
      free: false,
      status: 'on_sale',
      condition: 'used',
      tradeMethod: 'parcel',
      dongCodes: ['1144069000'],
      near: { ...MANGWON, radiusMeters: 3_000 },
      sort: 'recent',
      limit: 20,
    });
    expect(f[0]).toEqual({ term: { searchable: true } });
    // Hits carry what a list shows, not the description nor the matching fields.
    const source = (searchRequest({ sort: 'recent', limit: 20 }, 'i').request._source as { includes: string[] }).includes;
    expect(source).toEqual(expect.arrayContaining(['id', 'title', 'price', 'location', 'bumped_at']));
    expect(source).not.toContain('description');
    expect(source).not.toContain('search_text');
    // 2+ characters: a substring of the wildcard field; 1: a word prefix; a Hangul word is also
    // looked up through the nori analysis.
    expect(f[1]).toEqual({ bool: { should: [{ wildcard: { search_compact: { value: '*아이폰*' } } }, { match: { search_text: { query: '아이폰', operator: 'and' } } }], minimum_should_match: 1 } });
    expect(f[2]).toEqual({ bool: { should: [{ match: { 'search_text.prefix': { query: '폰', operator: 'and' } } }, { match: { search_text: { query: '폰', operator: 'and' } } }], minimum_should_match: 1 } });
    expect(f.slice(3)).toEqual([
      { prefix: { category_path: 'digital/phones/' } },
      { range: { price: { gte: 1_000, lte: 50_000 } } },
      { term: { free: false } },
      { term: { status: 'on_sale' } },
      { term: { condition: 'used' } },
      { term: { trade_methods: 'parcel' } },
      { terms: { dong_code: ['1144069000'] } },
      { geo_distance: { distance: '3000m', location: { lat: MANGWON.lat, lon: MANGWON.lng } } },
    ]);
  });

  it('when a word holds digits, Latin letters or symbols, then it is matched literally only, with the wildcard syntax escaped', () => {
    // nori would drop the `%` (and split `아이폰14`), finding listings the PostgreSQL adapter does not.
    expect(filters({ q: '100%', sort: 'recent', limit: 5 })[1]).toEqual({ wildcard: { search_compact: { value: '*100%*' } } });
    expect(filters({ q: 'c++', sort: 'recent', limit: 5 })[1]).toEqual({ wildcard: { 'search_text.substring': { value: '*c++*' } } });
    // Against an index older than mapping version 3 (no search_compact in its older documents): as written.
    expect(searchRequest({ q: '아이폰14', sort: 'recent', limit: 5 }, 'junggo-listings', { acrossSpaces: false }).request.query).toEqual(
      expect.objectContaining({ bool: expect.objectContaining({ filter: expect.arrayContaining([{ wildcard: { 'search_text.substring': { value: '*아이폰14*' } } }]) }) }),
    );
    expect(filters({ q: '아이폰14', sort: 'recent', limit: 5 })[1]).toEqual({ wildcard: { search_compact: { value: '*아이폰14*' } } });
    expect(filters({ q: 'a*b?c\\', sort: 'recent', limit: 5 })[1]).toEqual({ wildcard: { 'search_text.substring': { value: '*a\\*b\\?c\\\\*' } } });
    // Two characters are a substring too; one is a word prefix.
    expect(filters({ q: 's9', sort: 'recent', limit: 5 })[1]).toEqual({ wildcard: { 'search_text.substring': { value: '*s9*' } } });
    expect(filters({ q: 'z', sort: 'recent', limit: 5 })[1]).toEqual({ match: { 'search_text.prefix': { query: 'z', operator: 'and' } } });
  });

  it('when a search is asked for, then a partial answer from some shards is an error, not a short page', () => {
    expect(searchRequest({ sort: 'recent', limit: 5 }, 'i').request.allow_partial_search_results).toBe(false);
  });

  it('when only a lower or an upper price is given, then the range has only that bound', () => {
    expect(filters({ minPrice: 5, sort: 'recent', limit: 5 })).toContainEqual({ range: { price: { gte: 5, lte: undefined } } });
    expect(filters({ maxPrice: 9, sort: 'recent', limit: 5 })).toContainEqual({ range: { price: { gte: undefined, lte: 9 } } });
    expect(filters({ free: true, sort: 'recent', limit: 5 })).toEqual([{ term: { searchable: true } }, { term: { free: true } }]);
  });

  it('when each sort is asked for, then it is the sort key in its direction with the id as tie-break, one more hit than the page', () => {
    const sortOf = (sort: 'recent' | 'price_asc' | 'price_desc' | 'popular' | 'distance') => searchRequest({ sort, limit: 10, origin: MANGWON }, 'i').request;
    expect(sortOf('recent').sort).toEqual([{ bumped_at: { order: 'desc' } }, { id: { order: 'desc' } }]);
    expect(sortOf('price_asc').sort).toEqual([{ price: { order: 'asc' } }, { id: { order: 'asc' } }]);
    expect(sortOf('price_desc').sort).toEqual([{ price: { order: 'desc' } }, { id: { order: 'desc' } }]);
    expect(sortOf('popular').sort).toEqual([{ like_count: { order: 'desc' } }, { id: { order: 'desc' } }]);
    expect(sortOf('distance').sort).toEqual([{ _geo_distance: { location: { lat: MANGWON.lat, lon: MANGWON.lng }, order: 'asc', unit: 'm', distance_type: 'arc' } }, { id: { order: 'asc' } }]);
    expect(sortOf('recent')).toMatchObject({ index: 'i', size: 11, track_total_hits: false });
    expect(sortOf('recent')).not.toHaveProperty('search_after');
    expect(searchRequest({ sort: 'distance', limit: 1, origin: MANGWON }, 'i').origin).toEqual(MANGWON);
    expect(searchRequest({ sort: 'recent', limit: 1 }, 'i').origin).toBeUndefined();
  });

  it('when a cursor is given, then it becomes search_after, with dates as epoch milliseconds', () => {
    const doc = (i: number): SearchDocument => ({
      id: `prd_${i}`, version: 1, sellerId: 'usr_1', title: 't', description: '', categoryId: 'c', categoryPath: 'a/b', price: 100 * i, condition: 'used', tradeMethods: ['meet_up'],
      shippingFee: 0, dongCode: 'd', dongName: 'n', lat: 37, lng: 127, status: 'on_sale', moderation: 'ok', deleted: false, likeCount: 0, chatCount: 0, thumbnailUrl: null,
      bumpedAt: `2026-11-0${i}T00:00:00.000Z`, createdAt: '2026-11-01T00:00:00.000Z',
    });
    const recent = { sort: 'recent' as const, limit: 1 };
    const page = toSearchPage(planSearch(recent), [{ doc: doc(2) }, { doc: doc(1) }]);
    expect(searchRequest({ ...recent, cursor: page.nextCursor! }, 'i').request.search_after).toEqual([Date.parse('2026-11-02T00:00:00.000Z'), 'prd_2']);
    const cheap = { sort: 'price_asc' as const, limit: 1 };
    const next = toSearchPage(planSearch(cheap), [{ doc: doc(1) }, { doc: doc(2) }]);
    expect(searchRequest({ ...cheap, cursor: next.nextCursor! }, 'i').request.search_after).toEqual([100, 'prd_1']);
  });
});

describe('planSearch', () => {
  it('when a query breaks the port contract, then it is refused before any adapter runs', () => {
    expect(() => planSearch({ sort: 'recent', limit: 0 })).toThrow(SearchQueryError);
    expect(() => planSearch({ sort: 'recent', limit: 101 })).toThrow(/limit/);
    expect(() => planSearch({ sort: 'recent', limit: 1.5 })).toThrow(/limit/);
    expect(() => planSearch({ sort: 'nearest' as never, limit: 5 })).toThrow(/unknown sort/);
    expect(() => planSearch({ sort: 'distance', limit: 5 })).toThrow(/needs near or origin/);
    expect(() => planSearch({ sort: 'recent', limit: 5, dongCodes: Array.from({ length: 4_001 }, (_, i) => String(i)) })).toThrow(/at most/);
  });
});

describe('Elasticsearch writes becoming visible', () => {
  /** A client that answers the index set-up and holds each write until it is released. */
  function heldClient() {
    const writes: { request: Record<string, unknown>; done: () => void }[] = [];
    const client = {
      indices: {
        existsAlias: async () => true,
        getMapping: async () => ({ 'junggo-listings-1': { mappings: { _meta: { junggo_mapping_version: SEARCH_MAPPING_VERSION }, properties: { search_compact: {} } } } }),
      },
      index: (request: Record<string, unknown>) => new Promise<void>((done) => writes.push({ request, done })),
    };
    return { client: client as unknown as Client, writes };
  }
  const settle = () => new Promise((r) => setTimeout(r, 10));

  it('when changes ask to be told once visible, then one write waits for the next refresh, and callers during it share the following one', async () => {
    const { client, writes } = heldClient();
    const index = new ElasticsearchSearchIndex({ url: 'http://unused', client, log: createLogger('silent', 'test') });
    let firstShown = false;
    const first = index.whenVisible().then(() => (firstShown = true));
    await settle();
    expect(writes).toHaveLength(1);
    expect(writes[0]!.request).toMatchObject({
      index: 'junggo-listings',
      refresh: 'wait_for',
      require_alias: true,
      document: { searchable: false },
    });
    // Asked while that barrier is out: their writes may be later than it, so they wait for the next.
    const second = index.whenVisible();
    const third = index.whenVisible();
    await settle();
    expect(writes).toHaveLength(1);
    writes[0]!.done();
    await first;
    expect(firstShown).toBe(true);
    await settle();
    expect(writes).toHaveLength(2);
    let laterShown = 0;
    void second.then(() => laterShown++);
    void third.then(() => laterShown++);
    await settle();
    expect(laterShown).toBe(0);
    writes[1]!.done();
    await Promise.all([second, third]);
    expect(writes).toHaveLength(2);
  });

  it('when each write is refreshed as it is made (tests), then nothing is waited for', async () => {
    const { client, writes } = heldClient();
    const index = new ElasticsearchSearchIndex({ url: 'http://unused', client, log: createLogger('silent', 'test'), refreshOnWrite: true });
    await index.whenVisible();
    expect(writes).toHaveLength(0);
  });
});

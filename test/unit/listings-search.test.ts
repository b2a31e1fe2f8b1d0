import { describe, expect, it } from 'vitest';
import type { SearchLookups } from '../../src/modules/search/data/search-lookups';
import type { SearchHistoryUseCases } from '../../src/modules/search/domain/history';
import { listingSearchUseCases, type FeedPageCache } from '../../src/modules/search/domain/listings-search';
import { createRequestContext } from '../../src/platform/context';
import { createLogger } from '../../src/platform/logger';
import type { SearchIndex, SearchQuery } from '../../src/platform/search';

// What the listing search asks the index for a `near` query, seen through the port. The
// component tests (test/component/catalog/search.test.ts) and the contract suite cover what
// the index answers.

const DONGS = [
  { code: '1144069000', lat: 37.552433, lng: 126.907767 },
  { code: '1144068000', lat: 37.546722, lng: 126.907753 },
];

function searchWith() {
  const asked: SearchQuery[] = [];
  const index = { search: async (query: SearchQuery) => (asked.push(query), { items: [], nextCursor: null }) } as unknown as SearchIndex;
  const uncached: FeedPageCache = {
    get: () => {
      throw new Error('not cached');
    },
  };
  const search = listingSearchUseCases({
    index,
    lookups: { category: async () => null } as unknown as SearchLookups,
    history: {} as SearchHistoryUseCases,
    feedCache: { firstPages: uncached, laterPages: uncached },
    isEmptyPage: () => true,
    neighbourhoods: {
      rangeMeters: { near: 1_500, medium: 3_000, far: 6_000 },
      requireVerifiedNeighbourhood: async () => ({ dongCode: DONGS[0]!.code, range: 'near' }),
      around: async () => DONGS,
      // By code, as the resolver gives them.
      pointsWithin: async () => [...DONGS].sort((a, b) => a.code.localeCompare(b.code)),
    },
  });
  return { search, asked };
}

describe('listing search, near a point', () => {
  it('when nearest first is asked, then the index is given each dong with its point, so it can walk the dongs nearest first', async () => {
    const { search, asked } = searchWith();
    const ctx = createRequestContext('req_1', createLogger('silent', 'test'));
    const result = await search.search(ctx, { near: '37.5521,126.9105', radius: 20_000, sort: 'distance', limit: 20 });
    expect(result.kind).toBe('page');
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ sort: 'distance', origin: { lat: 37.5521, lng: 126.9105 }, dongCodes: ['1144068000', '1144069000'] });
    expect([...asked[0]!.dongPoints!].sort((a, b) => a.code.localeCompare(b.code))).toEqual([...DONGS].sort((a, b) => a.code.localeCompare(b.code)));
  });
});

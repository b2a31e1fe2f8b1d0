import { describe, expect, it } from 'vitest';
import { ALL_SCOPE, feedScope, scopesOfChange, type FeedAnchor } from '../../src/modules/search/domain/feed-scopes';
import { metresBetween, type SearchQuery } from '../../src/platform/search';

// A small map: dongs on a line of latitude ~1 km apart, so neighbourhoods overlap at every radius.
const DONGS = Array.from({ length: 12 }, (_, i) => ({ code: `11${String(i).padStart(8, '0')}`, lat: 37.5, lng: 126.9 + i * 0.0113 }));
const RADII = [1_500, 3_000, 6_000];
const around = async (code: string, radius: number) => {
  const centre = DONGS.find((d) => d.code === code);
  if (!centre) throw new Error(`no dong ${code}`);
  return DONGS.filter((d) => metresBetween(centre, d) <= radius).map((d) => d.code);
};
const PATHS = ['digital/phones/', 'digital/tablets/', 'hobbies/records/', 'plants/seeds/'];
const CATEGORY_FILTERS = [undefined, 'digital', 'digital/phones', 'hobbies', 'hobbies/records', 'plants/seeds'];

let seed = 7;
const rand = (n: number) => {
  seed = (seed * 16807) % 2147483647;
  return seed % n;
};
const pick = <T>(xs: readonly T[]) => xs[rand(xs.length)]!;

describe('feed cache scopes', () => {
  it('when a query has a category, then its scope is the category, with or without a neighbourhood; a neighbourhood alone is its dong and radius; else all', () => {
    const anchor: FeedAnchor = { dongCode: DONGS[0]!.code, radiusMeters: 3_000 };
    expect(feedScope({ sort: 'recent', limit: 20, categoryPath: 'digital/phones' })).toBe('c:digital/phones');
    expect(feedScope({ sort: 'recent', limit: 20, categoryPath: 'digital/phones/', dongCodes: ['1'] }, anchor)).toBe('c:digital/phones');
    expect(feedScope({ sort: 'recent', limit: 20, dongCodes: [DONGS[0]!.code] }, anchor)).toBe(`d:${DONGS[0]!.code}:3000`);
    expect(feedScope({ sort: 'recent', limit: 20, q: '아이폰' })).toBe(ALL_SCOPE);
    // Dongs without the neighbourhood they came from (a point): no scope can name them.
    expect(feedScope({ sort: 'recent', limit: 20, dongCodes: [DONGS[0]!.code] })).toBe(ALL_SCOPE);
  });

  it('when a listing moves between categories, then every level of both paths is touched, and all', async () => {
    const scopes = await scopesOfChange({ id: 'prd_1', categories: ['digital/phones/', 'hobbies/records/'], dongs: [] }, around, RADII);
    expect(scopes.sort()).toEqual(['all', 'c:digital', 'c:digital/phones', 'c:hobbies', 'c:hobbies/records']);
  });

  it('when any listing changes, then every cached page that could list it, before or after, is in a scope the change touches', async () => {
    // Random pages and random changes: whenever the listing matches a page's filters (where it was
    // or where it is), the page's scope must be dropped. Which other pages are dropped is a matter
    // of cost, not of correctness.
    let checked = 0;
    for (let round = 0; round < 300; round++) {
      const was = { path: pick(PATHS), dong: pick(DONGS).code };
      const is = rand(2) ? was : { path: pick(PATHS), dong: pick(DONGS).code };
      const change = { id: 'prd_1', categories: [...new Set([was.path, is.path])], dongs: [...new Set([was.dong, is.dong])] };
      const touched = new Set(await scopesOfChange(change, around, RADII));
      for (let page = 0; page < 20; page++) {
        const categoryPath = pick(CATEGORY_FILTERS);
        const anchor = rand(2) ? { dongCode: pick(DONGS).code, radiusMeters: pick(RADII) } : undefined;
        const query: SearchQuery = { sort: 'recent', limit: 20 };
        if (categoryPath) query.categoryPath = categoryPath;
        if (anchor) query.dongCodes = await around(anchor.dongCode, anchor.radiusMeters);
        const lists = (place: { path: string; dong: string }) =>
          (!categoryPath || place.path.startsWith(`${categoryPath}/`)) && (!query.dongCodes || query.dongCodes.includes(place.dong));
        if (lists(was) || lists(is)) {
          checked++;
          expect(touched, `${JSON.stringify(change)} must drop ${JSON.stringify({ categoryPath, anchor })}`).toContain(feedScope(query, anchor));
        }
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  it('when a neighbourhood cannot be resolved, then the change fails to scope (and everything is dropped)', async () => {
    await expect(scopesOfChange({ id: 'prd_1', categories: [], dongs: ['0000000000'] }, around, RADII)).rejects.toThrow();
  });
});

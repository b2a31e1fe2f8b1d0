import { describe, expect, it } from 'vitest';
import { ALL_SCOPE, coveringAnchor, feedScope, scopesOfChange, type FeedAnchor } from '../../src/modules/search/domain/feed-scopes';
import { metresBetween, type SearchQuery } from '../../src/platform/search';

// A small map: dongs on a line of latitude ~1 km apart, so neighbourhoods overlap at every radius.
const DONGS = Array.from({ length: 12 }, (_, i) => ({ code: `11${String(i).padStart(8, '0')}`, lat: 37.5, lng: 126.9 + i * 0.0113 }));
const RADII = [1_500, 3_000, 6_000];
type Point = { code: string; lat: number; lng: number };
const aroundIn = (map: readonly Point[]) => async (code: string, radius: number) => {
  const centre = map.find((d) => d.code === code);
  if (!centre) throw new Error(`no dong ${code}`);
  return map.filter((d) => metresBetween(centre, d) <= radius).map((d) => d.code);
};
const around = aroundIn(DONGS);
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

  it('when a near page is cached, then a change in any dong within its radius touches the neighbourhood scope that covers it', async () => {
    // Dongs scattered over ~9 × 9 km (irregular, as real ones are: on a regular line the bound
    // always has room to spare), random points and radii: the covering neighbourhood's scope must
    // be touched by a change in every dong the page can list.
    const scattered = Array.from({ length: 80 }, (_, i) => ({ code: `26${String(i).padStart(8, '0')}`, lat: 37.5 + rand(8_000) / 100_000, lng: 126.9 + rand(10_000) / 100_000 }));
    const aroundScattered = aroundIn(scattered);
    let covered = 0;
    for (let round = 0; round < 400; round++) {
      const point = { lat: 37.5 + rand(8_000) / 100_000, lng: 126.9 + rand(10_000) / 100_000 };
      const radius = 100 + rand(6_000);
      const within = scattered.filter((d) => metresBetween(point, d) <= radius);
      const anchor = coveringAnchor(within, RADII);
      if (!anchor) continue;
      covered++;
      expect(within.map((d) => d.code)).toContain(anchor.dongCode);
      const scope = feedScope({ sort: 'recent', limit: 20, dongCodes: within.map((d) => d.code) }, anchor);
      for (const x of within) {
        expect(await scopesOfChange({ id: 'prd_1', categories: [], dongs: [x.code] }, aroundScattered, RADII), `a change in ${x.code} must drop ${scope}`).toContain(scope);
      }
    }
    expect(covered).toBeGreaterThan(200);
  });

  it('when no feed radius reaches every dong of a near page from its centre, or it has no dong, then no neighbourhood covers it; else the dong nearest the centre and the smallest radius reaching all', () => {
    // DONGS are ~1 km apart on a line: from the middle one of nine, the farthest is ~4 km away.
    const nine = DONGS.slice(0, 9);
    expect(coveringAnchor(nine, RADII)).toEqual({ dongCode: DONGS[4]!.code, radiusMeters: 6_000 });
    expect(coveringAnchor(DONGS.slice(0, 3), RADII)).toEqual({ dongCode: DONGS[1]!.code, radiusMeters: 1_500 });
    expect(coveringAnchor(DONGS, [1_500, 3_000])).toBeUndefined();
    expect(coveringAnchor([], RADII)).toBeUndefined();
    // The same dongs in any order: the same scope.
    expect(coveringAnchor([...nine].reverse(), RADII)).toEqual(coveringAnchor(nine, RADII));
  });

  it('when a neighbourhood cannot be resolved, then the change fails to scope (and everything is dropped)', async () => {
    await expect(scopesOfChange({ id: 'prd_1', categories: [], dongs: ['0000000000'] }, around, RADII)).rejects.toThrow();
  });
});

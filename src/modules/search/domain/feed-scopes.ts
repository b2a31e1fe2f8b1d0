import { metresBetween, type SearchQuery } from '../../../platform/search';
import type { IndexChange } from '../index-feeder';

// A change to one listing drops only the cached pages it can touch (docs/search.md, "Caching").
// A cached page is in one scope, derived from its query alone:
//   c:<category path>      it lists one category (and below), whatever else it filters on;
//   d:<dong>:<radius>      it lists the neighbourhood of this dong, or dongs that neighbourhood
//                          holds (a `near` page, coveringAnchor), and no category;
//   all                    anything else (a search of every listing, the unfiltered feed).
// A listing that is or was in category path `a/b/` and dong x touches c:a, c:a/b, every
// d:<y>:<r> with y within r of x (distance is symmetric: exactly the neighbourhoods that hold
// x), and all. A page that filters on both a category and a neighbourhood is in its category's
// scope: every change that can touch it is in that category.

export const ALL_SCOPE = 'all';

/** The neighbourhood a feed was asked for: the dong it is around and the radius. */
export interface FeedAnchor {
  dongCode: string;
  radiusMeters: number;
}

/**
 * A neighbourhood that holds a set of dongs (a `near` page's: those within its radius of its
 * point), chosen from the set alone so that every point with the same dongs, whose pages are one
 * cache entry, names the same scope: the dong of the set nearest the set's centre (ties: the
 * lower code), y, with the smallest of `radii` that reaches every dong of the set from y. A change
 * in any of them touches `d:<y>:<r>`. `undefined` when the set is empty or no radius reaches all
 * of it: then the page is in no neighbourhood's scope.
 */
export function coveringAnchor(dongs: readonly { code: string; lat: number; lng: number }[], radii: readonly number[]): FeedAnchor | undefined {
  if (dongs.length === 0) return undefined;
  const centre = { lat: dongs.reduce((sum, d) => sum + d.lat, 0) / dongs.length, lng: dongs.reduce((sum, d) => sum + d.lng, 0) / dongs.length };
  let y = dongs[0]!;
  let yMetres = metresBetween(centre, y);
  for (const d of dongs) {
    const metres = metresBetween(centre, d);
    if (metres < yMetres || (metres === yMetres && d.code < y.code)) [y, yMetres] = [d, metres];
  }
  // A metre spare: changes find their neighbourhoods in SQL, this distance is computed in code, and
  // the two may differ in their last bits.
  const reach = Math.max(...dongs.map((d) => metresBetween(y, d))) + 1;
  const radius = [...radii].sort((a, b) => a - b).find((r) => r >= reach);
  return radius === undefined ? undefined : { dongCode: y.code, radiusMeters: radius };
}

const trimPath = (path: string) => path.replace(/^\/+|\/+$/g, '');

/** The scope of a cached page of this query (anchor: the neighbourhood it was asked for, if any). */
export function feedScope(query: SearchQuery, anchor?: FeedAnchor): string {
  if (query.categoryPath) return `c:${trimPath(query.categoryPath)}`;
  if (anchor && query.dongCodes) return `d:${anchor.dongCode}:${anchor.radiusMeters}`;
  return ALL_SCOPE;
}

/**
 * The scopes a change touches. `around(code, radius)`: the codes of the dongs within the radius
 * of the dong (itself included), as neighbourhood feeds resolve it; `radii`: the radii feeds are
 * asked with. Throws when a neighbourhood cannot be resolved: then drop everything.
 */
export async function scopesOfChange(
  change: IndexChange,
  around: (dongCode: string, radiusMeters: number) => Promise<string[]>,
  radii: readonly number[],
): Promise<string[]> {
  const scopes = new Set([ALL_SCOPE]);
  for (const path of change.categories) {
    const segments = trimPath(path).split('/').filter(Boolean);
    for (let depth = 1; depth <= segments.length; depth++) scopes.add(`c:${segments.slice(0, depth).join('/')}`);
  }
  for (const dong of change.dongs) {
    for (const radius of radii) {
      for (const code of await around(dong, radius)) scopes.add(`d:${code}:${radius}`);
    }
  }
  return [...scopes];
}

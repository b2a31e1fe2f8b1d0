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
 * A neighbourhood feed scope that holds every dong within `radiusMeters` of a point (a `near`
 * page): the dong nearest the point, y, with the smallest of `radii` that reaches past the radius
 * by y's distance from the point. By the triangle inequality a dong x within the radius of the
 * point is within that radius of y, so a change in x touches `d:<y>:<r>`. `undefined` when no
 * radius reaches that far (or no dong is within the radius): then the page is in no
 * neighbourhood's scope. `within`: the dongs within the radius of the point, with their points.
 */
export function coveringAnchor(point: { lat: number; lng: number }, within: readonly { code: string; lat: number; lng: number }[], radiusMeters: number, radii: readonly number[]): FeedAnchor | undefined {
  let nearest: { code: string; metres: number } | undefined;
  for (const d of within) {
    const metres = metresBetween(point, d);
    if (!nearest || metres < nearest.metres) nearest = { code: d.code, metres };
  }
  if (!nearest) return undefined;
  // A metre spare: the feeds' neighbourhoods are computed in SQL, this distance in code, and the two may
  // differ in their last bits.
  const reach = radiusMeters + nearest.metres + 1;
  const radius = [...radii].sort((a, b) => a - b).find((r) => r >= reach);
  return radius === undefined ? undefined : { dongCode: nearest.code, radiusMeters: radius };
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

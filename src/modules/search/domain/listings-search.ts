import type { RequestContext } from '../../../platform/context';
import { AppError, unauthenticated } from '../../../platform/errors';
import type { CachedEntry } from '../../../platform/cache/cached-json';
import { metresBetween, normaliseText, queryTerms, type ListingCondition, type SearchIndex, type SearchPage, type SearchQuery, type SearchSort, type TradeMethod } from '../../../platform/search';
import type { SearchLookups } from '../data/search-lookups';
import { coveringAnchor, feedScope, type FeedAnchor } from './feed-scopes';
import type { SearchHistoryUseCases } from './history';
import { conflictingLocationFilters, invalidCoordinates, invalidPriceRange, locationRequired, parameterNotApplicable, unknownCategory, unknownDong } from './problems';

/** The listProducts parameters, as the domain takes them. */
export interface ListingSearchParams {
  q?: string;
  categoryId?: string;
  minPrice?: number;
  maxPrice?: number;
  free?: boolean;
  status?: 'on_sale' | 'reserved' | 'sold';
  condition?: ListingCondition;
  tradeMethod?: TradeMethod;
  /** `lat,lng` */
  near?: string;
  radius?: number;
  neighbourhood?: 'me';
  dongCode?: string;
  range?: Range;
  sort: SearchSort;
  limit: number;
  cursor?: string;
}

type Range = 'near' | 'medium' | 'far';

/** What search needs from the neighbourhoods component. */
export interface NeighbourhoodPort {
  rangeMeters: Record<Range, number>;
  /** The user's active neighbourhood, primary first, or 403 neighbourhood_verification_required. */
  requireVerifiedNeighbourhood(userId: string): Promise<{ dongCode: string; range: Range }>;
  /** The dong and the dongs within the radius, nearest (itself) first; 404 for an unknown code. */
  around(dongCode: string, radiusMeters: number): Promise<{ code: string; lat: number; lng: number }[]>;
  /** The dongs (code, representative point) whose representative points lie within the radius of a point. */
  pointsWithin(lat: number, lng: number, radiusMeters: number): Promise<{ code: string; lat: number; lng: number }[]>;
}

/**
 * A page worth caching: of a category and/or neighbourhood feed with closed-set filters (a
 * bounded set of variants that many users share), or of such a feed searched with a short query
 * (searches follow a power law: the popular few are most of the traffic, docs/search.md). Its
 * later pages are shared too: while the first page is cached everyone gets the same cursor, and
 * so the same page 2, and so on (docs/search.md, "Caching"). A `near` page is the page of the
 * dongs within the radius, shared by every point with the same dongs; only its distances are the
 * point's, added to each read. Not cached: nearest first from a point (an order per point), a
 * price (each variant would be read once) and long queries.
 */
const cacheable = (p: ListingSearchParams) =>
  !(p.near && p.sort === 'distance') && p.minPrice === undefined && p.maxPrice === undefined && (p.q === undefined || p.q.length <= MAX_CACHED_QUERY_LENGTH);
const MAX_CACHED_QUERY_LENGTH = 30;

/**
 * The cache's name for a query: its words as the search uses them (queryTerms), so `아이폰  14!`,
 * ` 아이폰 14` and `아이폰 14` share one entry instead of each adding one. The load searches this
 * normalised query, which finds exactly what the original does.
 */
const cacheVariant = (query: SearchQuery) => JSON.stringify(query.q === undefined ? query : { ...query, q: queryTerms(query.q).join(' ') });

/**
 * A page, or a cached page's bytes; `distances`: metres from the asked point to each dong (by
 * code), for a cached `near` page, whose bytes carry no distances (they are shared by points).
 */
export type ListingSearchResult = { kind: 'page'; page: SearchPage } | { kind: 'cached'; entry: CachedEntry<unknown>; distances?: ReadonlyMap<string, number> };

/** Cache-aside of rendered pages, by the canonical query (JSON) and its scope (feed-scopes.ts). */
export interface FeedPageCache {
  get(variant: string, log: RequestContext['log'], scope: string): Promise<CachedEntry<unknown>>;
}

export function listingSearchUseCases(deps: {
  index: SearchIndex;
  lookups: SearchLookups;
  neighbourhoods: NeighbourhoodPort;
  history: SearchHistoryUseCases;
  /**
   * First pages, and pages after a cursor, in caches of their own: pages reached by cursors (which
   * clients can make up) never take the places of first pages.
   */
  feedCache: { firstPages: FeedPageCache; laterPages: FeedPageCache };
  /** Whether a cached page lists no listing (for the history's "found something"). */
  isEmptyPage: (entry: CachedEntry<unknown>) => boolean;
}) {
  const { index, lookups, neighbourhoods, history } = deps;

  /** Checks the parameters and resolves category, neighbourhood and dong into an index query. */
  async function toIndexQuery(ctx: RequestContext, p: ListingSearchParams): Promise<SearchQuery> {
    return (await resolve(ctx, p)).query;
  }

  /**
   * The index query; the neighbourhood whose feed scope holds its dongs (the one asked for, or
   * one covering a `near` radius), if any; and for `near`, each dong's distance from the point.
   */
  async function resolve(ctx: RequestContext, p: ListingSearchParams): Promise<{ query: SearchQuery; anchor?: FeedAnchor; distances?: Map<string, number> }> {
    const locations = (['near', 'neighbourhood', 'dongCode'] as const).filter((k) => p[k] !== undefined);
    if (locations.length > 1) throw conflictingLocationFilters(locations.map((k) => (k === 'dongCode' ? 'dong_code' : k)));
    if (p.sort === 'distance' && locations.length === 0) throw locationRequired();
    if (p.minPrice !== undefined && p.maxPrice !== undefined && p.minPrice > p.maxPrice) throw invalidPriceRange();
    // neighbourhood=me takes the range the user chose (updateMyNeighbourhood), not this one.
    if (p.radius !== undefined && p.near === undefined) throw parameterNotApplicable('radius', 'near');
    if (p.range !== undefined && p.dongCode === undefined) throw parameterNotApplicable('range', 'dong_code');

    const query: SearchQuery = { sort: p.sort, limit: p.limit };
    if (p.q !== undefined && queryTerms(p.q).length > 0) query.q = p.q;
    if (p.categoryId) {
      const category = await lookups.category(p.categoryId);
      if (!category) throw unknownCategory();
      query.categoryPath = category.path;
      if (category.leaf) query.categoryLeaf = true;
    }
    if (p.minPrice !== undefined) query.minPrice = p.minPrice;
    if (p.maxPrice !== undefined) query.maxPrice = p.maxPrice;
    if (p.free !== undefined) query.free = p.free;
    if (p.status) query.status = p.status;
    if (p.condition) query.condition = p.condition;
    if (p.tradeMethod) query.tradeMethod = p.tradeMethod;
    if (p.cursor) query.cursor = p.cursor;

    if (p.near) {
      const [lat, lng] = p.near.split(',').map(Number) as [number, number];
      if (!(Math.abs(lat) <= 90 && Math.abs(lng) <= 180)) throw invalidCoordinates();
      // A listing's location is its dong's representative point, so "within the radius" is
      // exactly "in a dong within the radius": an equality on an indexed column, where a
      // distance filter over every listing in the box read thousands of rows (docs/search.md).
      const radius = p.radius ?? 3_000;
      const origin = { lat, lng };
      const dongs = await neighbourhoods.pointsWithin(lat, lng, radius);
      query.dongCodes = dongs.map((d) => d.code).sort();
      query.origin = origin;
      // Nearest first is the point's own order, read from the index (which walks the dongs by
      // their points, nearest first, as far as the page needs); any other order is the dongs'
      // page, which the cache shares, with this point's distances added.
      if (p.sort === 'distance') return { query: { ...query, dongPoints: dongs.map(({ code, lat, lng }) => ({ code, lat, lng })) } };
      const distances = new Map(dongs.map((d) => [d.code, metresBetween(origin, d)]));
      const anchor = coveringAnchor(dongs, Object.values(neighbourhoods.rangeMeters));
      return anchor ? { query, anchor, distances } : { query, distances };
    }
    let anchor: FeedAnchor | undefined;
    if (p.neighbourhood === 'me') {
      if (!ctx.actor) throw unauthenticated('neighbourhood=me needs a signed-in user.');
      const mine = await neighbourhoods.requireVerifiedNeighbourhood(ctx.actor.userId);
      anchor = { dongCode: mine.dongCode, radiusMeters: neighbourhoods.rangeMeters[mine.range] };
    } else if (p.dongCode) {
      anchor = { dongCode: p.dongCode, radiusMeters: neighbourhoods.rangeMeters[p.range ?? 'near'] };
    }
    if (anchor) Object.assign(query, await dongsAround(anchor.dongCode, anchor.radiusMeters));
    return anchor ? { query, anchor } : { query };
  }

  async function dongsAround(code: string, radius: number): Promise<Pick<SearchQuery, 'dongCodes' | 'origin'>> {
    const dongs = await neighbourhoods.around(code, radius).catch((err: unknown) => {
      throw err instanceof AppError && err.status === 404 ? unknownDong() : err;
    });
    const centre = dongs.find((d) => d.code === code) ?? dongs[0]!;
    return { dongCodes: dongs.map((d) => d.code).sort(), origin: { lat: centre.lat, lng: centre.lng } };
  }

  return {
    toIndexQuery,

    /**
     * The feed and the search (listProducts). Popular feeds' pages come from the feed caches;
     * a signed-in user's free-text searches go into their history.
     */
    async search(ctx: RequestContext, params: ListingSearchParams): Promise<ListingSearchResult> {
      const { query, anchor, distances } = await resolve(ctx, params);
      const cache = params.cursor ? deps.feedCache.laterPages : deps.feedCache.firstPages;
      let result: ListingSearchResult;
      if (!cacheable(params)) result = { kind: 'page', page: await index.search(query) };
      else if (!distances) result = { kind: 'cached', entry: await cache.get(cacheVariant(query), ctx.log, feedScope(query, anchor)) };
      else {
        // The point orders nothing here (sort=distance is not cached): the page is the dongs' page.
        const shared: SearchQuery = { ...query };
        delete shared.origin;
        result = { kind: 'cached', entry: await cache.get(cacheVariant(shared), ctx.log, feedScope(shared, anchor)), distances };
      }
      if (ctx.actor && query.q && !params.cursor) {
        const found = result.kind === 'cached' ? !deps.isEmptyPage(result.entry) : result.page.items.length > 0;
        // History is a convenience: a failure to record it must not fail the search. Cut at 100 code
        // points (what the spec's maxLength counts): cutting UTF-16 units could split an emoji, which jsonb refuses.
        await history.record(ctx.actor.userId, [...normaliseText(query.q)].slice(0, 100).join(''), found).catch((err: unknown) => ctx.log.warn({ err }, 'search history not recorded'));
      }
      return result;
    },
  };
}
export type ListingSearchUseCases = ReturnType<typeof listingSearchUseCases>;

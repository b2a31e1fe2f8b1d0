import type Redis from 'ioredis';
import type { Sequelize } from 'sequelize';
import type { Config } from '../../config';
import { CachedJson } from '../../platform/cache/cached-json';
import type { PgListener } from '../../platform/db/pg-listener';
import type { DocumentStore } from '../../platform/documents';
import type { Logger } from '../../platform/logger';
import { createSearchIndex, type SearchIndex, type SearchQuery } from '../../platform/search';
import { RANGE_METERS } from '../neighbourhoods';
import { createPopularQueries, createSearchLookups } from './data/search-lookups';
import { searchHistoryUseCases } from './domain/history';
import { listingSearchUseCases, type NeighbourhoodPort } from './domain/listings-search';
import { suggestionUseCases } from './domain/suggestions';
import { clearMySearchHistory } from './http/clearMySearchHistory';
import { getSearchSuggestions } from './http/getSearchSuggestions';
import { listMySearchHistory } from './http/listMySearchHistory';
import { listProducts } from './http/listProducts';
import { isEmptyListBytes, toProductSummaryList, toSuggestionList, type ProductSummaryListResource, type SearchSuggestionListResource } from './http/search-mapper';
import { scopesOfChange } from './domain/feed-scopes';
import { parseIndexChange, SEARCH_INDEX_CHANGED_CHANNEL } from './index-feeder';

export { rebuildSearchIndex, searchIndexSubscription, SEARCH_FEEDER_EVENTS, SEARCH_INDEX_CHANGED_CHANNEL } from './index-feeder';

export const FEED_CACHE_KEY = 'cache:search:feeds:v3';
export const LATER_PAGES_CACHE_KEY = 'cache:search:feed-pages:v2';
export const SUGGESTION_CACHE_KEY = 'cache:search:suggestions:v2';

/** The search index this deployment uses: Elasticsearch when ELASTICSEARCH_URL is set, else PostgreSQL. */
export const searchIndexFor = (config: Config, sequelize: Sequelize, log: Logger): SearchIndex =>
  createSearchIndex({ sequelize, elasticsearchUrl: config.ELASTICSEARCH_URL, elasticsearchIndex: config.ELASTICSEARCH_INDEX, log });

/** Memoises a lookup by dong and radius; unknown codes (404) and failures are not kept. */
function oncePerDongAndRadius<T>(load: (code: string, radius: number) => Promise<T>) {
  const memo = new Map<string, Promise<T>>();
  return (code: string, radius: number): Promise<T> => {
    const key = `${code}:${radius}`;
    let value = memo.get(key);
    if (!value) {
      value = load(code, radius);
      memo.set(key, value);
      value.catch(() => memo.delete(key));
    }
    return value;
  };
}

/** Wires the search component: listProducts (feed + search), suggestions, search history. */
export function searchModule(deps: {
  config: Config;
  sequelize: Sequelize;
  redis: Redis;
  listener: PgListener;
  store: DocumentStore;
  log: Logger;
  neighbourhoods: {
    requireVerifiedNeighbourhood: NeighbourhoodPort['requireVerifiedNeighbourhood'];
    resolver: {
      neighbourhood(code: string, radiusMeters?: number): Promise<{ code: string; lat: number; lng: number }[]>;
      pointsWithin(lat: number, lng: number, radiusMeters: number): Promise<{ code: string; lat: number; lng: number }[]>;
    };
  };
}) {
  const { config, sequelize, redis, log } = deps;
  const index = searchIndexFor(config, sequelize, log);
  const lookups = createSearchLookups(sequelize);
  deps.listener.on('categories_changed', () => lookups.invalidate());
  // Dongs change only with a migration: each dong's neighbourhood per range (a bounded set) is
  // computed once per process instead of on every neighbourhood feed request; as codes only for
  // the dongs that changes happen in (any of them, in time), to know which cached feeds to drop.
  const neighbourhood = (code: string, radius: number) => deps.neighbourhoods.resolver.neighbourhood(code, radius);
  const around = oncePerDongAndRadius(neighbourhood);
  const neighbourCodes = oncePerDongAndRadius(async (code, radius) => (await neighbourhood(code, radius)).map((d) => d.code));
  const popular = createPopularQueries(sequelize);
  const history = searchHistoryUseCases({ store: deps.store, popular });
  const ttl = config.SEARCH_FEED_CACHE_TTL_SECONDS;
  const loadPage = async (variant: string) => toProductSummaryList(await index.search(JSON.parse(variant) as SearchQuery, { fresh: true }));
  const feedCache = {
    firstPages: new CachedJson<ProductSummaryListResource>(redis, FEED_CACHE_KEY, ttl, loadPage, log),
    // Fewer per scope: past the first few pages readers thin out, and anyone can make up cursors.
    laterPages: new CachedJson<ProductSummaryListResource>(redis, LATER_PAGES_CACHE_KEY, ttl, loadPage, log, undefined, 1000, 200),
  };
  const search = listingSearchUseCases({
    index,
    lookups,
    history,
    feedCache,
    isEmptyPage: (entry) => isEmptyListBytes(entry.json),
    neighbourhoods: {
      rangeMeters: RANGE_METERS,
      requireVerifiedNeighbourhood: deps.neighbourhoods.requireVerifiedNeighbourhood,
      around,
      pointsWithin: (lat, lng, radius) => deps.neighbourhoods.resolver.pointsWithin(lat, lng, radius),
    },
  });
  const suggestionCache = new CachedJson<SearchSuggestionListResource>(
    redis,
    SUGGESTION_CACHE_KEY,
    ttl,
    async (variant) => {
      const [prefix, limit] = JSON.parse(variant) as [string, number];
      return toSuggestionList(await suggestions.suggest(prefix, limit));
    },
    log,
  );
  const suggestions = suggestionUseCases({ index, popular, cache: suggestionCache });
  // The index feeder (worker) notifies when its change commits; every API process drops its
  // copies: the feeds the change can touch, or all of them when it does not say which listing.
  // With Elasticsearch the feeder tells a change again once it shows in searches (a page read
  // between the two may have missed it): see searchIndexSubscription.
  deps.listener.on(SEARCH_INDEX_CHANGED_CHANNEL, (payload) => {
    const change = parseIndexChange(payload);
    const scopes = (change ? scopesOfChange(change, neighbourCodes, Object.values(RANGE_METERS)) : Promise.resolve(undefined)).catch((err: unknown) => {
      log.warn({ err }, 'feed cache scopes not resolved; dropping every cached feed');
      return undefined;
    });
    void scopes.then((s) => Promise.all([feedCache.firstPages.invalidate(s), feedCache.laterPages.invalidate(s)]));
    void suggestionCache.invalidate();
  });
  return {
    index,
    search,
    history,
    suggestions,
    close: () => index.close(),
    handlers: {
      listProducts: listProducts(search),
      getSearchSuggestions: getSearchSuggestions(suggestions),
      listMySearchHistory: listMySearchHistory(history),
      clearMySearchHistory: clearMySearchHistory(history),
    },
  };
}
export type SearchModule = ReturnType<typeof searchModule>;

import type { RequestContext } from '../../../platform/context';
import type { CachedEntry } from '../../../platform/cache/cached-json';
import { normaliseText, type SearchIndex } from '../../../platform/search';
import type { PopularQueries } from '../data/search-lookups';

export interface SuggestionItem {
  text: string;
  kind: 'query' | 'title';
}

/** Prefixes this short are what everyone types first: cached (a closed, small set of variants). */
const CACHED_PREFIX_CHARS = 2;

export function suggestionUseCases(deps: {
  index: SearchIndex;
  popular: PopularQueries;
  cache: { get(variant: string, log: RequestContext['log']): Promise<CachedEntry<unknown>> };
}) {
  /** Popular searches starting with the prefix, then listing titles, without repeats. */
  async function suggest(prefix: string, limit: number): Promise<SuggestionItem[]> {
    const p = normaliseText(prefix);
    if (!p) return [];
    const [queries, titles] = await Promise.all([deps.popular.startingWith(p, limit), deps.index.suggest(p, limit)]);
    const seen = new Set<string>();
    const out: SuggestionItem[] = [];
    for (const item of [...queries.map((text) => ({ text, kind: 'query' as const })), ...titles.map((t) => ({ text: t.text, kind: 'title' as const }))]) {
      const key = normaliseText(item.text);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(item);
    }
    return out.slice(0, limit);
  }

  return {
    suggest,

    /** getSearchSuggestions: the cached rendering for short prefixes, else the items. */
    async forPrefix(ctx: RequestContext, prefix: string, limit: number): Promise<{ kind: 'cached'; entry: CachedEntry<unknown> } | { kind: 'items'; items: SuggestionItem[] }> {
      const p = normaliseText(prefix);
      if ([...p].length > 0 && [...p].length <= CACHED_PREFIX_CHARS) return { kind: 'cached', entry: await deps.cache.get(JSON.stringify([p, limit]), ctx.log) };
      return { kind: 'items', items: await suggest(p, limit) };
    },
  };
}
export type SuggestionUseCases = ReturnType<typeof suggestionUseCases>;

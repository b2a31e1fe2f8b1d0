import type { Handler } from '../../../platform/http/operations';
import type { JsonBytes } from '../../../platform/http/json-bytes';
import type { SuggestionUseCases } from '../domain/suggestions';
import { toSuggestionList, type SearchSuggestionListResource } from './search-mapper';

export const getSearchSuggestions =
  (suggestions: SuggestionUseCases): Handler<'getSearchSuggestions'> =>
  async ({ ctx, query }) => {
    const result = await suggestions.forPrefix(ctx, query.q, query.limit ?? 10);
    if (result.kind === 'cached') return { status: 200, body: result.entry.json as JsonBytes<SearchSuggestionListResource> };
    return { status: 200, body: toSuggestionList(result.items) };
  };

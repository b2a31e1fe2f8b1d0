import type { components } from '../../../../generated/api';
import type { Page } from '../../../platform/documents';
import type { SearchHit, SearchPage } from '../../../platform/search';
import type { SearchHistoryDoc } from '../domain/history';
import type { SuggestionItem } from '../domain/suggestions';

export type ProductSummaryResource = components['schemas']['ProductSummary'];
export type ProductSummaryListResource = components['schemas']['ProductSummaryList'];
export type SearchSuggestionListResource = components['schemas']['SearchSuggestionList'];
export type SearchHistoryListResource = components['schemas']['SearchHistoryList'];

export function toProductSummary({ doc, distanceMeters }: SearchHit): ProductSummaryResource {
  const summary: ProductSummaryResource = {
    id: doc.id,
    object: 'product',
    title: doc.title,
    price: doc.price,
    free: doc.price === 0,
    // The index never returns hidden listings.
    status: doc.status as ProductSummaryResource['status'],
    condition: doc.condition,
    category_id: doc.categoryId,
    location: { dong_code: doc.dongCode, dong_name: doc.dongName },
    like_count: doc.likeCount,
    chat_count: doc.chatCount,
    bumped_at: doc.bumpedAt,
  };
  if (doc.thumbnailUrl) summary.thumbnail_url = doc.thumbnailUrl;
  if (distanceMeters !== undefined) summary.distance_m = Math.round(distanceMeters);
  return summary;
}

export const toProductSummaryList = (page: SearchPage): ProductSummaryListResource => ({
  object: 'list',
  data: page.items.map(toProductSummary),
  has_more: page.nextCursor !== null,
  next_cursor: page.nextCursor,
});

/**
 * A cached `near` page as one point sees it: each listing's distance is its dong's from that
 * point (a listing's location is its dong's representative point), as the index would give it.
 */
export function withDistances(bytes: Buffer, distances: ReadonlyMap<string, number>): ProductSummaryListResource {
  const list = JSON.parse(bytes.toString('utf8')) as ProductSummaryListResource;
  for (const item of list.data) {
    const metres = distances.get(item.location.dong_code);
    if (metres !== undefined) item.distance_m = Math.round(metres);
  }
  return list;
}

/**
 * Whether serialised list bytes hold no item. Inside a JSON string every quote is escaped, so
 * the unescaped `"data":[]` can only be the list's own empty data array.
 */
export const isEmptyListBytes = (bytes: Buffer): boolean => bytes.includes('"data":[]');

export const toSuggestionList = (items: SuggestionItem[]): SearchSuggestionListResource => ({
  object: 'list',
  // Popular queries are what people typed: control characters (a pasted tab) never reach a client.
  data: items.map((i) => ({ object: 'search_suggestion', text: i.text.replace(/[\x00-\x1F\x7F]+/g, ' '), kind: i.kind })),
  has_more: false,
  next_cursor: null,
});

export const toSearchHistoryList = (page: Page<SearchHistoryDoc>): SearchHistoryListResource => ({
  object: 'list',
  data: page.items.map((d) => ({ object: 'search_history_entry', id: d.id, query: d.query, searched_at: d.searched_at })),
  has_more: page.nextCursor !== null,
  next_cursor: page.nextCursor,
});

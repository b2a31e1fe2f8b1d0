import type { Handler } from '../../../platform/http/operations';
import type { JsonBytes } from '../../../platform/http/json-bytes';
import type { ListingSearchUseCases } from '../domain/listings-search';
import { toProductSummaryList, withDistances, type ProductSummaryListResource } from './search-mapper';

export const listProducts =
  (search: ListingSearchUseCases): Handler<'listProducts'> =>
  async ({ ctx, query }) => {
    const result = await search.search(ctx, {
      q: query.q,
      categoryId: query.category_id,
      minPrice: query.min_price,
      maxPrice: query.max_price,
      free: query.free,
      status: query.status,
      condition: query.condition,
      tradeMethod: query.trade_method,
      near: query.near,
      radius: query.radius,
      neighbourhood: query.neighbourhood,
      dongCode: query.dong_code,
      range: query.range,
      sort: query.sort ?? 'recent',
      limit: query.limit ?? 20,
      cursor: query.cursor,
    });
    if (result.kind === 'cached') {
      return { status: 200, body: result.distances ? withDistances(result.entry.json, result.distances) : (result.entry.json as JsonBytes<ProductSummaryListResource>) };
    }
    return { status: 200, body: toProductSummaryList(result.page) };
  };

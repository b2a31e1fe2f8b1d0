import type { Handler } from '../../../platform/http/operations';
import type { ListingReviewUseCases } from '../domain/listing-review';
import { toFlaggedListing } from './product-mapper';

export const listFlaggedProducts =
  (review: ListingReviewUseCases): Handler<'listFlaggedProducts'> =>
  async ({ ctx, query }) => {
    const page = await review.list(ctx, { limit: query.limit ?? 20, ...(query.cursor ? { cursor: query.cursor } : {}) });
    return { status: 200, body: { object: 'list', data: page.items.map(toFlaggedListing), has_more: page.nextCursor !== null, next_cursor: page.nextCursor } };
  };

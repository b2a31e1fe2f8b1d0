import type { Handler } from '../../../platform/http/operations';
import type { ListingReviewUseCases } from '../domain/listing-review';

export const reviewFlaggedProduct =
  (review: ListingReviewUseCases): Handler<'reviewFlaggedProduct'> =>
  async ({ ctx, path, body }) => {
    await review.review(ctx, path.product_id, body.decision, body.reason, body.version);
    return { status: 204 };
  };

import type { components } from '../../../../generated/api';
import type { Handler } from '../../../platform/http/operations';
import type { FlaggedListing, ListingReviewUseCases } from '../domain/listing-review';
import type { FlagRule } from '../domain/moderation';

/** Staff's view of a queued listing; the matched text on one line, as the schema allows. */
export const toFlaggedListing = ({ product: p, flags }: FlaggedListing): components['schemas']['FlaggedListing'] => ({
  object: 'flagged_listing',
  id: p.id,
  seller_id: p.sellerId,
  title: p.title,
  description: p.description,
  category_id: p.categoryId,
  price: p.price,
  status: p.status,
  flags: flags.slice(0, 10).map((f) => ({ field: f.field, rule: f.rule as FlagRule, match: f.match.replace(/[\x00-\x1F\x7F]+/g, ' ').trim().slice(0, 200) })),
  created_at: p.createdAt.toISOString(),
  updated_at: p.updatedAt.toISOString(),
});

export const listFlaggedProducts =
  (review: ListingReviewUseCases): Handler<'listFlaggedProducts'> =>
  async ({ ctx, query }) => {
    const page = await review.list(ctx, { limit: query.limit ?? 20, ...(query.cursor ? { cursor: query.cursor } : {}) });
    return { status: 200, body: { object: 'list', data: page.items.map(toFlaggedListing), has_more: page.nextCursor !== null, next_cursor: page.nextCursor } };
  };

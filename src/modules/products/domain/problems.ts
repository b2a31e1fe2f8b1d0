import { AppError, type FieldError } from '../../../platform/errors';

// The products component's expected failures, by problem code (documented per operation in the spec).

export const productNotFound = () => new AppError(404, 'not_found', 'Not found', 'No listing has this id.');
export const notSeller = () => new AppError(403, 'not_seller', 'Only the seller may do this', 'Only the seller of this listing may change it.');
export const invalidCategory = () =>
  new AppError(422, 'invalid_category', 'Unknown category', 'No category has this id.', [{ pointer: '/category_id', code: 'invalid_category', detail: 'No category has this id.' }]);
export const categoryNotLeaf = () =>
  new AppError(422, 'category_not_leaf', 'Choose a more specific category', 'This category has sub-categories; file the listing under one of them.', [
    { pointer: '/category_id', code: 'category_not_leaf', detail: 'The category has sub-categories.' },
  ]);
export const shippingFeeNotApplicable = () =>
  new AppError(422, 'shipping_fee_not_applicable', 'A shipping fee needs a shipping trade method', 'A shipping fee is only possible with parcel or convenience-store delivery.', [
    { pointer: '/shipping_fee', code: 'shipping_fee_not_applicable', detail: 'Add parcel or convenience_store to trade_methods, or send 0.' },
  ]);
export const listingProhibited = (errors: FieldError[]) =>
  new AppError(422, 'listing_prohibited', 'The listing breaks the posting rules', errors.map((e) => e.detail).join(' '), errors);
export const duplicateListing = (existing: { id: string; deleted: boolean }) =>
  existing.deleted
    ? new AppError(409, 'duplicate_listing', 'You already posted this listing', 'A listing with the same title and description, posted or bumped in the last 24 hours, was deleted; reposting it would move it to the top again. Post it again once that day has passed.')
    : new AppError(409, 'duplicate_listing', 'You already posted this listing', `Listing ${existing.id} has the same title and description; edit or bump it instead.`);
export const listingLimitReached = (limit: number, retryAfterSeconds: number) =>
  new AppError(429, 'listing_limit_reached', 'Too many new listings', `At most ${limit} new listings in 24 hours.`, [], { 'Retry-After': String(retryAfterSeconds) });
export const priceLocked = () =>
  new AppError(409, 'price_locked', 'A sold listing keeps its price', 'The listing is sold; its price can no longer change.', [
    { pointer: '/price', code: 'price_locked', detail: 'The listing is sold.' },
  ]);
export const invalidStatusTransition = (from: string, to: string) =>
  new AppError(409, 'invalid_status_transition', 'This status change is not possible', `A listing cannot go from ${from} to ${to}.`);
export const invalidBuyer = () =>
  new AppError(422, 'invalid_buyer', 'Not a possible buyer', 'The buyer must be another user whose account is in good standing.', [
    { pointer: '/buyer_id', code: 'invalid_buyer', detail: 'Another user, not suspended or banned.' },
  ]);
export const buyerNotApplicable = () =>
  new AppError(422, 'buyer_not_applicable', 'A buyer only goes with reserved or sold', 'Name a buyer only when reserving or selling.', [
    { pointer: '/buyer_id', code: 'buyer_not_applicable', detail: 'Only with reserved or sold.' },
  ]);
export const productNotOnSale = () => new AppError(409, 'product_not_on_sale', 'The listing is not on sale', 'Only a listing on sale can be bumped.');
export const bumpTooSoon = (retryAfterSeconds: number) =>
  new AppError(429, 'bump_too_soon', 'Bumped too recently', `A listing can be bumped once every 24 hours; try again in ${Math.ceil(retryAfterSeconds / 60)} minutes.`, [], {
    'Retry-After': String(retryAfterSeconds),
  });
export const priceNotLower = () =>
  new AppError(422, 'price_not_lower', 'The new price must be lower', 'A bump may only lower the price.', [{ pointer: '/price', code: 'price_not_lower', detail: 'Lower than the current price.' }]);
export const notFlagged = () => new AppError(409, 'not_flagged', 'Not waiting for a moderator', 'This listing is not flagged for review (never was, or already decided).');
export const listingChanged = () =>
  new AppError(409, 'listing_changed', 'The listing changed', 'The seller edited this listing after the version you reviewed. Read the queue again and decide on what it says now.');
export const cannotReviewOwnListing = () =>
  new AppError(422, 'cannot_review_own_listing', 'Not your own listing', 'A moderator cannot decide on a listing they posted; another moderator must.');

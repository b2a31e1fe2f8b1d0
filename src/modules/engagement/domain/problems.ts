import { AppError, notFound } from '../../../platform/errors';

// The engagement component's expected failures, by problem code (documented per operation in the spec).

export const productNotFound = () => notFound('No listing has this id, or it is hidden or deleted.');
export const cannotLikeOwnListing = () => new AppError(422, 'cannot_like_own_listing', 'You cannot like your own listing', 'Likes are for other people’s listings.');
export const keywordAlertNotFound = () => notFound('You have no keyword alert with this id.');
export const notificationNotFound = () => notFound('You have no notification with this id.');
export const keywordAlertLimitReached = (max: number) =>
  new AppError(409, 'keyword_alert_limit_reached', 'Too many keyword alerts', `You can save at most ${max} keywords. Delete one first.`);
export const keywordAlertExists = () =>
  new AppError(409, 'keyword_alert_exists', 'This keyword alert exists', 'You already have an alert for this keyword with the same scope.', [
    { pointer: '/keyword', code: 'keyword_alert_exists', detail: 'Already saved.' },
  ]);
export const invalidKeyword = (reason: 'no_letters' | 'too_short' | 'too_long', maxLength: number) =>
  reason === 'no_letters'
    ? new AppError(422, 'invalid_keyword', 'The keyword is not valid', 'A keyword needs at least one letter or digit.', [
        { pointer: '/keyword', code: 'invalid_keyword', detail: 'At least one letter or digit.' },
      ])
    : reason === 'too_short'
      ? new AppError(422, 'invalid_keyword', 'The keyword is too short', 'A keyword needs a word of at least 2 letters or digits: one character alone is in nearly every title.', [
          { pointer: '/keyword', code: 'invalid_keyword', detail: 'A word of at least 2 letters or digits.' },
        ])
      : // Within the schema's length as typed, longer once normalised (NFKC): `㎏` is `kg`.
      new AppError(422, 'invalid_keyword', 'The keyword is not valid', `A keyword has at most ${maxLength} characters once normalised (NFKC: ㎏ counts as kg).`, [
        { pointer: '/keyword', code: 'invalid_keyword', detail: `At most ${maxLength} characters once normalised.` },
      ]);
export const unknownCategory = () =>
  new AppError(422, 'unknown_category', 'Unknown category', 'No category has this id.', [{ pointer: '/category_id', code: 'unknown_category', detail: 'No category has this id.' }]);
export const unknownDong = () =>
  new AppError(422, 'unknown_dong', 'Unknown dong', 'No administrative dong has this code.', [{ pointer: '/dong_code', code: 'unknown_dong', detail: 'No dong has this code.' }]);

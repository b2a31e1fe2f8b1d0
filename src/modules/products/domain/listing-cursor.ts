import { cursorFingerprint, InvalidCursorError, openCursor, sealCursor } from '../../../platform/pagination/cursor';

// A keyset cursor of a list of listings ordered by posting time (a seller's listings, the review
// queue): created_at as PostgreSQL prints it (exact to the microsecond, which a JavaScript Date
// is not) and the id, bound to the list and the query it came from.

const TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/;

/** `list` names the list (`seller-products`, `flagged-products`), so one list's cursor never opens another. */
export const listingCursorFingerprint = (list: string, parts: unknown[] = []) => cursorFingerprint([list, ...parts]);

export const encodeListingCursor = (createdKey: string, id: string, fingerprint: string): string => sealCursor('products', { value: createdKey, id }, fingerprint);

export function decodeListingCursor(cursor: string, fingerprint: string): { createdAt: string; id: string } {
  const { value, id } = openCursor('products', cursor, fingerprint);
  if (typeof value !== 'string' || !TIMESTAMP.test(value)) throw new InvalidCursorError('The cursor is malformed.');
  return { createdAt: value, id };
}

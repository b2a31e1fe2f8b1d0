import { cursorFingerprint, InvalidCursorError, openCursor, sealCursor } from '../../../platform/pagination/cursor';

// A keyset cursor of a list of listings ordered by posting time (a seller's listings, the review
// queue): created_at as PostgreSQL prints it (exact to the microsecond, which a JavaScript Date
// is not) and the id, bound to the list and the query it came from.

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?[+-](\d{2})(:\d{2})?$/;

/** A timestamp PostgreSQL accepts: the shape, and a real day and time (`2026-02-30` would fail the cast, a 500). */
function isTimestamp(value: string): boolean {
  const m = TIMESTAMP.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  return year >= 1 && date.getUTCMonth() === month - 1 && date.getUTCDate() === day && hour < 24 && minute < 60 && second < 60 && Number(m[8]) <= 15 && (!m[9] || Number(m[9].slice(1)) < 60);
}

/** `list` names the list (`seller-products`, `flagged-products`), so one list's cursor never opens another. */
export const listingCursorFingerprint = (list: string, parts: unknown[] = []) => cursorFingerprint([list, ...parts]);

export const encodeListingCursor = (createdKey: string, id: string, fingerprint: string): string => sealCursor('products', { value: createdKey, id }, fingerprint);

export function decodeListingCursor(cursor: string, fingerprint: string): { createdAt: string; id: string } {
  const { value, id } = openCursor('products', cursor, fingerprint);
  if (typeof value !== 'string' || !isTimestamp(value)) throw new InvalidCursorError('The cursor is malformed.');
  return { createdAt: value, id };
}

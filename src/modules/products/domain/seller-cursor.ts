import { cursorFingerprint, InvalidCursorError, openCursor, sealCursor } from '../../../platform/pagination/cursor';

// A keyset cursor of a seller's listings: created_at as PostgreSQL prints it (exact to the
// microsecond, which a JavaScript Date is not) and the id, bound to the query it came from.

const TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/;

export const sellerCursorFingerprint = (parts: unknown[]) => cursorFingerprint(['seller-products', ...parts]);

export const encodeSellerCursor = (createdKey: string, id: string, fingerprint: string): string => sealCursor('products', { value: createdKey, id }, fingerprint);

export function decodeSellerCursor(cursor: string, fingerprint: string): { createdAt: string; id: string } {
  const { value, id } = openCursor('products', cursor, fingerprint);
  if (typeof value !== 'string' || !TIMESTAMP.test(value)) throw new InvalidCursorError('The cursor is malformed.');
  return { createdAt: value, id };
}

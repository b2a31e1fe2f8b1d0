import { createHash } from 'node:crypto';
import { InvalidCursorError } from '../../../platform/documents/document-store';

// A keyset cursor (created_at as PostgreSQL prints it, id) bound to the query it came from. The
// checksum is not a signature: a forged cursor only starts the page where the client could
// anyway; what matters is that one from another query, or a damaged one, is refused.

const digest = (s: string) => createHash('sha256').update(s).digest('base64url').slice(0, 16);
const TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/;

export const cursorFingerprint = (parts: unknown[]) => digest(JSON.stringify(['seller-products', ...parts]));

export function encodeSellerCursor(createdKey: string, id: string, fingerprint: string): string {
  const payload = [createdKey, id, fingerprint];
  return Buffer.from(JSON.stringify([...payload, digest(`junggo.products.cursor.v1:${JSON.stringify(payload)}`)]), 'utf8').toString('base64url');
}

export function decodeSellerCursor(cursor: string, fingerprint: string): { createdAt: string; id: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('The cursor is malformed.');
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) throw new InvalidCursorError('The cursor is malformed.');
  const [createdKey, id, fp, sum] = parsed as unknown[];
  if (sum !== digest(`junggo.products.cursor.v1:${JSON.stringify([createdKey, id, fp])}`)) throw new InvalidCursorError('The cursor was altered.');
  if (fp !== fingerprint) throw new InvalidCursorError('The cursor was issued for other filters.');
  if (typeof createdKey !== 'string' || !TIMESTAMP.test(createdKey) || typeof id !== 'string') throw new InvalidCursorError('The cursor is malformed.');
  return { createdAt: createdKey, id };
}

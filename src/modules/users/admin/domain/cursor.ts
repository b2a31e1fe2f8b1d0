import { createHash } from 'node:crypto';
import { InvalidCursorError } from '../../../../platform/documents/document-store';

/** Where a page of the account list stopped: the last row's exact sort key and id. */
export interface AccountCursor {
  createdAtMicros: string;
  id: string;
}

const digest = (s: string) => createHash('sha256').update(s).digest('base64url').slice(0, 16);

/** What a cursor is bound to: the filters (not the limit, which may change between pages). */
export const filterFingerprint = (filters: Record<string, string | undefined>) =>
  digest(JSON.stringify(Object.entries(filters).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b))));

// A checksum, not a signature (as the document store's cursors): forging one only picks a start
// position the caller could reach with filters anyway. What matters is that a cursor of other
// filters, or a damaged one, is refused, and that what reaches SQL has the right shape.
const check = (payload: unknown[]) => digest(`junggo.admin.accounts.cursor.v1:${JSON.stringify(payload)}`);

export function encodeCursor(fingerprint: string, at: AccountCursor): string {
  const payload = [at.createdAtMicros, at.id, fingerprint];
  return Buffer.from(JSON.stringify([...payload, check(payload)]), 'utf8').toString('base64url');
}

export function decodeCursor(fingerprint: string, cursor: string): AccountCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('The cursor is malformed.');
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) throw new InvalidCursorError('The cursor is malformed.');
  const [createdAtMicros, id, boundTo, sum] = parsed as unknown[];
  if (sum !== check([createdAtMicros, id, boundTo])) throw new InvalidCursorError('The cursor was altered.');
  if (boundTo !== fingerprint) throw new InvalidCursorError('The cursor was issued for other filters.');
  if (typeof createdAtMicros !== 'string' || !/^-?\d{1,18}$/.test(createdAtMicros) || typeof id !== 'string' || id.length > 64) {
    throw new InvalidCursorError('The cursor is malformed.');
  }
  return { createdAtMicros, id };
}

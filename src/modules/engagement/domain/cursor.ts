import { createHash } from 'node:crypto';
import { InvalidCursorError } from '../../../platform/documents/document-store';

/** Where a newest-first page stopped: the last row's timestamp in microseconds (exact) and its id. */
export interface KeysetPosition {
  atMicros: string;
  id: string;
}

const digest = (s: string) => createHash('sha256').update(s).digest('base64url').slice(0, 16);

// A checksum, not a signature (as the other cursors of the API): forging one only picks a start
// position the caller could reach anyway. A cursor of another list or a damaged one is refused,
// and what reaches SQL has the right shape.
const check = (payload: unknown[]) => digest(`junggo.engagement.cursor.v1:${JSON.stringify(payload)}`);

/** `list` names what the cursor pages through (e.g. `likes:usr_...`): a cursor of another list is refused. */
export function encodeCursor(list: string, at: KeysetPosition): string {
  const payload = [at.atMicros, at.id, digest(list)];
  return Buffer.from(JSON.stringify([...payload, check(payload)]), 'utf8').toString('base64url');
}

export function decodeCursor(list: string, cursor: string): KeysetPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('The cursor is malformed.');
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) throw new InvalidCursorError('The cursor is malformed.');
  const [atMicros, id, boundTo, sum] = parsed as unknown[];
  if (sum !== check([atMicros, id, boundTo])) throw new InvalidCursorError('The cursor was altered.');
  if (boundTo !== digest(list)) throw new InvalidCursorError('The cursor was issued for another list.');
  if (typeof atMicros !== 'string' || !/^-?\d{1,18}$/.test(atMicros) || typeof id !== 'string' || id.length > 64) throw new InvalidCursorError('The cursor is malformed.');
  return { atMicros, id };
}

/** The page from `limit + 1` rows read in order: the extra row only says there is more. */
export function pageOf<T>(list: string, rows: T[], limit: number, position: (row: T) => KeysetPosition): { items: T[]; nextCursor: string | null } {
  if (rows.length <= limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, limit);
  return { items, nextCursor: encodeCursor(list, position(items[items.length - 1]!)) };
}

import { cursorFingerprint, InvalidCursorError, isEpochMicros, openCursor, sealCursor } from '../../../platform/pagination/cursor';

/** Where a newest-first page stopped: the last row's timestamp in microseconds (exact) and its id. */
export interface KeysetPosition {
  atMicros: string;
  id: string;
}

/** `list` names what the cursor pages through (e.g. `likes:usr_...`): a cursor of another list is refused. */
export function decodeCursor(list: string, cursor: string): KeysetPosition {
  const { value, id } = openCursor('engagement', cursor, cursorFingerprint(list));
  if (!isEpochMicros(value) || id.length > 64) throw new InvalidCursorError('The cursor is malformed.');
  return { atMicros: value, id };
}

/** The page from `limit + 1` rows read in order: the extra row only says there is more. */
export function pageOf<T>(list: string, rows: T[], limit: number, position: (row: T) => KeysetPosition): { items: T[]; nextCursor: string | null } {
  if (rows.length <= limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, limit);
  const last = position(items[items.length - 1]!);
  return { items, nextCursor: sealCursor('engagement', { value: last.atMicros, id: last.id }, cursorFingerprint(list)) };
}

import { cursorFingerprint, InvalidCursorError, isEpochMicros, openCursor, sealCursor } from '../../../../platform/pagination/cursor';

/** Where a page of the account list stopped: the last row's exact sort key and id. */
export interface AccountCursor {
  createdAtMicros: string;
  id: string;
}

/** What a cursor is bound to: the filters (not the limit, which may change between pages). */
export const filterFingerprint = (filters: Record<string, string | undefined>) =>
  cursorFingerprint(Object.entries(filters).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b)));

export const encodeCursor = (fingerprint: string, at: AccountCursor): string => sealCursor('admin.accounts', { value: at.createdAtMicros, id: at.id }, fingerprint);

export function decodeCursor(fingerprint: string, cursor: string): AccountCursor {
  const { value, id } = openCursor('admin.accounts', cursor, fingerprint);
  if (!isEpochMicros(value) || id.length > 64) throw new InvalidCursorError('The cursor is malformed.');
  return { createdAtMicros: value, id };
}

import { createHash } from 'node:crypto';
import { AppError } from '../errors';

// The one opaque keyset cursor of the API (API-CONVENTIONS: pagination). A cursor carries the
// last item's sort value and id, what it is bound to (a fingerprint of the list, filters and
// sort it came from) and a checksum, as base64url JSON.
//
// The checksum is not a signature: a client able to forge one only picks a start position it
// could reach with filters anyway. What matters is that a cursor of another query, or a damaged
// one, is refused with 400 invalid_cursor, and that the caller checks the value's shape (it
// receives `unknown`) before it reaches SQL, so a forged cursor cannot make a cast fail.

/** A cursor from another query (filters, sort or list), or an altered one. A client error. */
export class InvalidCursorError extends AppError {
  constructor(detail = 'The cursor does not belong to this query.') {
    super(400, 'invalid_cursor', 'The cursor is not valid', detail);
    this.name = 'InvalidCursorError';
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest('base64url').slice(0, 16);

/** The last microsecond of 9999-12-31 since the Unix epoch: the latest instant a key is written at. */
const MAX_EPOCH_MICROS = 253_402_300_799_999_999n;

/**
 * A timestamp in whole microseconds since the Unix epoch (a keyset position), from 1970 to 9999:
 * what the lists write into their cursors, and safely inside PostgreSQL's range, so a made-up
 * value is 400 invalid_cursor, never a failed cast (500).
 */
export const isEpochMicros = (value: unknown): value is string => typeof value === 'string' && /^\d{1,18}$/.test(value) && BigInt(value) <= MAX_EPOCH_MICROS;

/** A short fingerprint of what a cursor is bound to: the list, filters and sort, never the limit. */
export const cursorFingerprint = (boundTo: unknown): string => digest(JSON.stringify(boundTo));

/** `kind` names the family of cursors (e.g. `search`), so one family's cursor never opens another's. */
export function sealCursor(kind: string, position: { value: unknown; id: string }, fingerprint: string): string {
  const payload = [position.value, position.id, fingerprint];
  return Buffer.from(JSON.stringify([...payload, digest(`junggo.${kind}.cursor.v1:${JSON.stringify(payload)}`)]), 'utf8').toString('base64url');
}

/**
 * The position a cursor of `kind` holds, when it was issued for this fingerprint (or one of these:
 * a list whose fingerprint changed still takes the cursors of the release before); else
 * InvalidCursorError.
 */
export function openCursor(kind: string, cursor: string, fingerprint: string | readonly string[]): { value: unknown; id: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('The cursor is malformed.');
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) throw new InvalidCursorError('The cursor is malformed.');
  const [value, id, boundTo, sum] = parsed as unknown[];
  if (sum !== digest(`junggo.${kind}.cursor.v1:${JSON.stringify([value, id, boundTo])}`)) throw new InvalidCursorError('The cursor was altered.');
  if (typeof fingerprint === 'string' ? boundTo !== fingerprint : !fingerprint.includes(boundTo as string)) throw new InvalidCursorError('The cursor was issued for another list, other filters or another sort.');
  if (typeof id !== 'string' || id.length > 256) throw new InvalidCursorError('The cursor is malformed.');
  // PostgreSQL's text cannot hold NUL: bound as a parameter, a forged one fails the query (500).
  if (JSON.stringify([value, id]).includes('\\u0000')) throw new InvalidCursorError('The cursor is malformed.');
  return { value, id };
}

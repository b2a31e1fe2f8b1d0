import { AppError } from '../errors';

/** If-None-Match uses weak comparison (RFC 9110 §13.1.2). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}

/** If-Match uses strong comparison (RFC 9110 §13.1.1): 412 unless one listed tag is the current one. Absent or `*` passes. */
export function assertIfMatch(ifMatch: string | undefined, etag: string, what: string): void {
  if (ifMatch === undefined || ifMatch.trim() === '*') return;
  const candidates = ifMatch.split(',').map((t) => t.trim());
  if (!candidates.includes(etag)) {
    throw new AppError(412, 'precondition_failed', 'Precondition failed', `The ${what} was changed meanwhile; fetch it again.`);
  }
}

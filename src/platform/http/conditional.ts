import { AppError } from '../errors';

/** If-None-Match uses weak comparison (RFC 9110 §13.1.2). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}

/**
 * The tags an If-Match lists, each as this API sent it. A proxy that compresses a response (nginx
 * with `gzip`, as in docker-compose) turns our strong tag into a weak one (`W/"…"`), and a client
 * echoes what it got: the opaque part is still the tag this API made for the same representation
 * before compression, so it is taken as that tag. Without this every edit through the proxy was a
 * 412, again after every re-fetch.
 */
export const ifMatchTags = (ifMatch: string): string[] => ifMatch.split(',').map((t) => t.trim().replace(/^W\//, ''));

/** If-Match uses strong comparison (RFC 9110 §13.1.1) of our own tags (ifMatchTags): 412 unless one listed tag is the current one. Absent or `*` passes. */
export function assertIfMatch(ifMatch: string | undefined, etag: string, what: string): void {
  if (ifMatch === undefined || ifMatch.trim() === '*') return;
  if (!ifMatchTags(ifMatch).includes(etag)) {
    throw new AppError(412, 'precondition_failed', 'Precondition failed', `The ${what} was changed meanwhile; fetch it again.`);
  }
}

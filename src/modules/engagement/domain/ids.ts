import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** `prefix_` + 20 Crockford base32 characters, as every id of the API (users/domain/ids.ts). */
export function newEngagementId(prefix: 'kwa' | 'ntf'): string {
  let out = '';
  for (const b of randomBytes(20)) out += CROCKFORD[b & 31];
  return `${prefix}_${out}`;
}

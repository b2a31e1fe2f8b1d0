import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** `prefix_` + 20 Crockford base32 characters (100 random bits): opaque, URL-safe, unguessable. */
export function newId(prefix: 'usr' | 'ses' | 'prd'): string {
  const bytes = randomBytes(20);
  let out = '';
  for (const b of bytes) out += CROCKFORD[b & 31];
  return `${prefix}_${out}`;
}

/** A bearer secret (refresh token, e-mail link token): 256 random bits. */
export const newSecret = (prefix: 'rt' | 'vt' | 'pr') => `${prefix}_${randomBytes(32).toString('base64url')}`;

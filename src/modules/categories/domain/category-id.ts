import { createHash } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32

/**
 * Category ids are derived from the slug path, so the same category has the same id in every
 * environment and clients may keep ids across releases. They stay opaque to clients.
 */
export function categoryId(path: string): string {
  const digest = createHash('sha256').update(`category:${path}`).digest();
  let out = '';
  for (let i = 0; i < 16; i++) out += ALPHABET[digest[i]! & 31];
  return `cat_${out}`;
}

/** The formats a listing photo may be uploaded in, as detected from the file's bytes. */
export type ImageType = 'image/jpeg' | 'image/png' | 'image/webp' | 'image/heic';

/** Enough leading bytes for every signature below (an ftyp box lists its brands early). */
export const SNIFF_BYTES = 64;

// HEIF brands of HEVC-coded still images and sequences (ISO/IEC 23008-12 Annex B). `mif1`/`msf1`
// are the generic HEIF brands and need one of these among the compatible brands; AVIF (`avif`,
// AV1-coded HEIF) is not one of the accepted formats.
const HEIC_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'hevm', 'hevs']);
const GENERIC_HEIF_BRANDS = new Set(['mif1', 'msf1']);
// The major brands the HEVC decoder (heic-decode) takes; it looks at nothing else, so a file under
// the multi-layer or scalable brands (`heim heis hevm hevs`) would be accepted and then always fail.
const DECODABLE_MAJOR_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', ...GENERIC_HEIF_BRANDS]);

const ascii = (b: Buffer, from: number, to: number) => b.toString('latin1', from, to);

function isHeic(head: Buffer): boolean {
  if (head.length < 16 || ascii(head, 4, 8) !== 'ftyp') return false;
  const major = ascii(head, 8, 12);
  if (!DECODABLE_MAJOR_BRANDS.has(major)) return false;
  if (HEIC_BRANDS.has(major)) return true;
  const boxEnd = Math.min(head.readUInt32BE(0), head.length);
  for (let at = 16; at + 4 <= boxEnd; at += 4) if (HEIC_BRANDS.has(ascii(head, at, at + 4))) return true;
  return false;
}

/**
 * The image type the leading bytes show, or null: the file's name and the Content-Type its
 * sender declared say nothing about what it is.
 */
export function sniffImageType(head: Buffer): ImageType | null {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (head.length >= 12 && ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return 'image/webp';
  if (isHeic(head)) return 'image/heic';
  return null;
}

/** sharp's name for the format each type's header must parse as. */
export const SHARP_FORMAT: Record<ImageType, string> = { 'image/jpeg': 'jpeg', 'image/png': 'png', 'image/webp': 'webp', 'image/heic': 'heif' };

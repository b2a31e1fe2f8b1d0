import sharp from 'sharp';
import { SHARP_FORMAT, type ImageType } from './image-format';
import { DISPLAY_MAX_PX, MAX_IMAGE_PIXELS, THUMB_PX, type FailureReason } from './photo';

export interface ImageHeader {
  width: number;
  height: number;
}

/**
 * Width and height from the header alone: sharp's metadata() parses the header and never
 * decodes pixels, so a decompression bomb costs nothing here. Null when the header does not
 * parse as the expected format (damaged, truncated, or another format behind a valid signature).
 */
export async function readHeader(bytes: Buffer, type: ImageType): Promise<ImageHeader | null> {
  try {
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    if (meta.format !== SHARP_FORMAT[type] || !meta.width || !meta.height) return null;
    return { width: meta.width, height: meta.height };
  } catch {
    return null;
  }
}

/** An image that can never be processed: retrying will not help. */
export class UnprocessableImage extends Error {
  readonly retryable = false;
  constructor(readonly reason: FailureReason, cause: unknown) {
    super(`image cannot be processed: ${reason}`, { cause });
    this.name = 'UnprocessableImage';
  }
}

export interface Derivatives {
  display: Buffer;
  thumb: Buffer;
  /** Of the display version. */
  width: number;
  height: number;
}

// An HEVC-coded HEIC declares its decoder configuration in an `hvcC` property box, near the start.
const isHevcCoded = (bytes: Buffer) => bytes.subarray(0, 256 * 1024).includes('hvcC', 0, 'latin1');

/**
 * The display version (WebP, longer side at most 1600 px) and the thumbnail (WebP, 400 × 400
 * cover crop). Each is turned upright by its EXIF orientation first; the output carries no
 * metadata at all (sharp strips EXIF, XMP, IPTC and ICC unless asked to keep them, and converts
 * to sRGB), which is what removes the GPS position. The pixel limit is enforced again on decode.
 *
 * HEIC: sharp's prebuilt libvips decodes HEIF through libheif with AV1 only (the HEVC decoder is
 * patent-encumbered and not bundled). An HEVC-coded HEIC, what iPhones write, therefore fails
 * with `heic_codec_unsupported`; no pure-JS HEVC decoder is installed here.
 */
export async function makeDerivatives(original: Buffer, type: ImageType): Promise<Derivatives> {
  const source = () => sharp(original, { limitInputPixels: MAX_IMAGE_PIXELS, failOn: 'error' }).rotate();
  try {
    const display = await source()
      .resize({ width: DISPLAY_MAX_PX, height: DISPLAY_MAX_PX, fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 82 })
      .toBuffer({ resolveWithObject: true });
    const thumb = await source().resize({ width: THUMB_PX, height: THUMB_PX, fit: 'cover', position: 'attention' }).webp({ quality: 75 }).toBuffer();
    return { display: display.data, thumb, width: display.info.width, height: display.info.height };
  } catch (err) {
    if (type === 'image/heic' && isHevcCoded(original)) throw new UnprocessableImage('heic_codec_unsupported', err);
    throw new UnprocessableImage('image_undecodable', err);
  }
}

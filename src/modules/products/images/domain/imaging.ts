import sharp from 'sharp';
import { decodeHeic, HeicDecoderUnavailable } from './heic-decoder';
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
// (Not sharp's `compression`, which libvips guesses from the brand: an AV1 file under the `heic`
// brand reads as `hevc`.)
const isHevcCoded = (bytes: Buffer) => bytes.subarray(0, 256 * 1024).includes('hvcC', 0, 'latin1');

/** A fresh pipeline per derivative over the original's pixels, upright. */
type Source = () => ReturnType<typeof sharp>;

/** HEVC-coded HEIC, decoded by heic-decode (sharp's prebuilt libvips cannot) and handed to sharp as raw pixels. */
async function hevcSource(original: Buffer): Promise<Source> {
  const header = await readHeader(original, 'image/heic');
  if (!header) throw new UnprocessableImage('image_undecodable', new Error('the HEIC header does not parse'));
  // Checked at upload too; again here because the decoder spends 4 bytes of WebAssembly memory
  // per declared pixel before sharp's own limit could apply.
  if (header.width * header.height > MAX_IMAGE_PIXELS) {
    throw new UnprocessableImage('image_undecodable', new Error(`it declares ${header.width} × ${header.height} pixels, more than ${MAX_IMAGE_PIXELS}`));
  }
  const image = await decodeHeic(original, MAX_IMAGE_PIXELS).catch((err: unknown) => {
    throw new UnprocessableImage(err instanceof HeicDecoderUnavailable ? 'heic_codec_unsupported' : 'image_undecodable', err);
  });
  // No rotate(): libheif applied irot/imir, and the EXIF orientation an iPhone also writes must
  // not be applied a second time (HEIF readers ignore it). Raw pixels carry no metadata at all.
  return () => sharp(image.data, { raw: { width: image.width, height: image.height, channels: 4 }, limitInputPixels: MAX_IMAGE_PIXELS });
}

/**
 * The display version (WebP, longer side at most 1600 px) and the thumbnail (WebP, 400 × 400
 * cover crop). Each is turned upright by its EXIF orientation first; the output carries no
 * metadata at all (sharp strips EXIF, XMP, IPTC and ICC unless asked to keep them, and converts
 * to sRGB), which is what removes the GPS position. The pixel limit is enforced again on decode.
 *
 * HEIC: sharp's prebuilt libvips decodes HEIF through libheif with AV1 only (the HEVC decoder is
 * patent-encumbered and not bundled), so AV1-coded files go through sharp like the other formats
 * and HEVC-coded ones, what iPhones write, through heic-decode (libheif and libde265 compiled to
 * WebAssembly). Their decoded pixels are taken as sRGB: the file's colour profile (Display P3 on
 * iPhones) is not applied, so the most saturated colours come out a little duller.
 * `heic_codec_unsupported` remains only for a process where that decoder cannot be loaded.
 */
export async function makeDerivatives(original: Buffer, type: ImageType): Promise<Derivatives> {
  const source: Source =
    type === 'image/heic' && isHevcCoded(original) ? await hevcSource(original) : () => sharp(original, { limitInputPixels: MAX_IMAGE_PIXELS, failOn: 'error' }).rotate();
  try {
    const display = await source()
      .resize({ width: DISPLAY_MAX_PX, height: DISPLAY_MAX_PX, fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 82 })
      .toBuffer({ resolveWithObject: true });
    const thumb = await source().resize({ width: THUMB_PX, height: THUMB_PX, fit: 'cover', position: 'attention' }).webp({ quality: 75 }).toBuffer();
    return { display: display.data, thumb, width: display.info.width, height: display.info.height };
  } catch (err) {
    throw new UnprocessableImage('image_undecodable', err);
  }
}

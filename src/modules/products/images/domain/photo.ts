import { randomBytes } from 'node:crypto';
import type { ImageType } from './image-format';

export const MAX_IMAGES_PER_LISTING = 10;
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
/**
 * Read from the header before anything is decoded. 50 MP takes the 48 MP photos of recent
 * phones (8064 × 6048) and refuses decompression bombs: a 100-byte PNG may declare 20000 × 20000
 * pixels, which would take 1.6 GB to decode.
 */
export const MAX_IMAGE_PIXELS = 50_000_000;
export const DISPLAY_MAX_PX = 1600;
export const THUMB_PX = 400;

export type PhotoStatus = 'processing' | 'ready' | 'failed';
export type FailureReason = 'image_undecodable' | 'heic_codec_unsupported' | 'processing_failed';

export interface Photo {
  id: string;
  productId: string;
  sellerId: string;
  originalKey: string | null;
  displayKey: string | null;
  thumbKey: string | null;
  contentType: ImageType;
  bytes: number;
  width: number | null;
  height: number | null;
  position: number;
  status: PhotoStatus;
  failureReason: FailureReason | null;
  createdAt: Date;
  deletedAt: Date | null;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** `img_` + 20 Crockford base32 characters, like every id here (users/domain/ids.ts). */
export function newImageId(): string {
  let out = '';
  for (const b of randomBytes(20)) out += CROCKFORD[b & 31];
  return `img_${out}`;
}

/** Storage keys: originals are private; only the derivatives are ever served (isDerivativeKey, media-route.ts). */
export const storageKeys = (productId: string, imageId: string) => ({
  original: `originals/${productId}/${imageId}`,
  display: `products/${productId}/${imageId}.webp`,
  thumb: `products/${productId}/${imageId}-thumb.webp`,
});

const ID = '[0-9A-HJKMNP-TV-Z]{20}';
const DERIVATIVE_KEY = new RegExp(`^products/prd_${ID}/img_${ID}(?:-thumb)?\\.webp$`);

/** Whether a key is one `storageKeys` gives a derivative (what /media serves): not a listing's folder, not a file being written. */
export const isDerivativeKey = (key: string): boolean => DERIVATIVE_KEY.test(key);

/**
 * Every file a photo can have. The original by its derived key when the row no longer names it
 * (processing deleted it): a deletion that failed then is retried, at the cost of one more key in
 * the same batch when it did not.
 */
export function photoFileKeys(p: Pick<Photo, 'productId' | 'id' | 'originalKey'>): string[] {
  const k = storageKeys(p.productId, p.id);
  return [p.originalKey ?? k.original, k.display, k.thumb];
}

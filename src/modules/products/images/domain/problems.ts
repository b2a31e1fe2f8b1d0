import { AppError } from '../../../../platform/errors';
import { MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, MAX_IMAGES_PER_LISTING } from './photo';

// The photos component's expected failures, by problem code (documented per operation in the spec).

export const noImages = () =>
  new AppError(400, 'no_images', 'No images', 'Send at least one file part named `images`.', [{ pointer: '/images', code: 'missing_field', detail: 'At least one file is required.' }]);
export const imageLimitReached = (remaining: number) =>
  new AppError(
    409,
    'image_limit_reached',
    'Too many photos',
    remaining > 0
      ? `A listing has at most ${MAX_IMAGES_PER_LISTING} photos; this one can take ${remaining} more.`
      : `A listing has at most ${MAX_IMAGES_PER_LISTING} photos and this one has them all. Delete one first.`,
  );
export const imageTooLarge = (index: number) =>
  new AppError(413, 'image_too_large', 'Image too large', `Each image may be at most ${MAX_IMAGE_BYTES / 1024 / 1024} MB.`, [
    { pointer: `/images/${index}`, code: 'image_too_large', detail: `This file is larger than ${MAX_IMAGE_BYTES} bytes.` },
  ]);
export const unsupportedImageType = (index: number) =>
  new AppError(415, 'unsupported_image_type', 'Unsupported image type', 'Upload JPEG, PNG, WebP or HEIC images; the type is read from the file itself.', [
    { pointer: `/images/${index}`, code: 'unsupported_image_type', detail: 'This file is not a JPEG, PNG, WebP or HEIC image.' },
  ]);
export const imagePixelLimitExceeded = (index: number, width: number, height: number) =>
  new AppError(422, 'image_pixel_limit_exceeded', 'Image dimensions too large', `An image may have at most ${MAX_IMAGE_PIXELS / 1_000_000} megapixels.`, [
    { pointer: `/images/${index}`, code: 'image_pixel_limit_exceeded', detail: `This file declares ${width} × ${height} pixels.` },
  ]);
export const imageUnreadable = (index: number) =>
  new AppError(422, 'image_unreadable', 'Image unreadable', 'The image header (its dimensions) could not be read; the file is damaged or not what its first bytes claim.', [
    { pointer: `/images/${index}`, code: 'image_unreadable', detail: 'The image header could not be read.' },
  ]);
export const imageOrderMismatch = (detail: string) =>
  new AppError(422, 'image_order_mismatch', 'The ids are not the listing\u2019s photos', detail, [{ pointer: '/image_ids', code: 'image_order_mismatch', detail }]);
export const photoUploadLimitReached = (limit: number, windowSeconds: number, retryAfterSeconds: number) =>
  new AppError(429, 'photo_upload_limit_reached', 'Too many photo uploads', `At most ${limit} photo uploads per seller in ${windowSeconds / 60} minutes.`, [], {
    'Retry-After': String(retryAfterSeconds),
  });

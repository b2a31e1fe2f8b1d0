import type { components } from '../../../../../generated/api';
import type { Photo } from '../domain/photo';

type ListingPhoto = components['schemas']['ListingPhoto'];
type ListingPhotoList = components['schemas']['ListingPhotoList'];

export function toListingPhoto(p: Photo, mediaUrl: (key: string) => string): ListingPhoto {
  return {
    id: p.id,
    object: 'product_image',
    status: p.status,
    position: p.position,
    content_type: p.contentType,
    bytes: p.bytes,
    ...(p.status === 'ready' && p.displayKey && p.thumbKey && p.width && p.height
      ? { url: mediaUrl(p.displayKey), thumbnail_url: mediaUrl(p.thumbKey), width: p.width, height: p.height }
      : {}),
    ...(p.status === 'failed' && p.failureReason ? { failure_reason: p.failureReason } : {}),
    created_at: p.createdAt.toISOString(),
  };
}

export const toListingPhotoList = (photos: Photo[], mediaUrl: (key: string) => string): ListingPhotoList => ({
  object: 'list',
  data: photos.map((p) => toListingPhoto(p, mediaUrl)),
  has_more: false,
  next_cursor: null,
});

import type { Handler } from '../../../../platform/http/operations';
import type { PhotoUseCases } from '../domain/photos';
import { toListingPhotoList } from './photo-mapper';

export const reorderProductImages =
  (photos: PhotoUseCases, mediaUrl: (key: string) => string): Handler<'reorderProductImages'> =>
  async ({ ctx, path, body }) => ({ status: 200, body: toListingPhotoList(await photos.reorder(ctx, path.product_id, body.image_ids), mediaUrl) });

import type { Handler } from '../../../../platform/http/operations';
import type { PhotoUseCases } from '../domain/photos';
import { toListingPhotoList } from './photo-mapper';

export const uploadProductImages =
  (photos: PhotoUseCases, mediaUrl: (key: string) => string): Handler<'uploadProductImages'> =>
  async ({ ctx, path, body }) => ({ status: 202, body: toListingPhotoList(await photos.upload(ctx, path.product_id, body), mediaUrl) });

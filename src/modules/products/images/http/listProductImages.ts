import type { Handler } from '../../../../platform/http/operations';
import type { PhotoUseCases } from '../domain/photos';
import { toListingPhotoList } from './photo-mapper';

export const listProductImages =
  (photos: PhotoUseCases, mediaUrl: (key: string) => string): Handler<'listProductImages'> =>
  async ({ ctx, path }) => ({ status: 200, body: toListingPhotoList(await photos.list(ctx, path.product_id), mediaUrl) });

import type { Handler } from '../../../../platform/http/operations';
import type { PhotoUseCases } from '../domain/photos';

export const deleteProductImage =
  (photos: PhotoUseCases): Handler<'deleteProductImage'> =>
  async ({ ctx, path }) => {
    await photos.remove(ctx, path.product_id, path.image_id);
    return { status: 204 };
  };

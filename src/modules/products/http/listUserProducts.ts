import type { Handler } from '../../../platform/http/operations';
import type { ProductUseCases } from '../domain/products';
import { toProduct } from './product-mapper';

export const listUserProducts =
  (products: ProductUseCases): Handler<'listUserProducts'> =>
  async ({ ctx, path, query }) => {
    const viewerId = ctx.actor?.userId;
    const page = await products.listBySeller(viewerId, path.user_id, {
      limit: query.limit ?? 20,
      ...(query.status ? { status: query.status } : {}),
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
    return { status: 200, body: { object: 'list', data: page.items.map((p) => toProduct(p, viewerId)), has_more: page.nextCursor !== null, next_cursor: page.nextCursor } };
  };

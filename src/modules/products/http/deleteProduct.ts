import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { ProductUseCases } from '../domain/products';

export const deleteProduct =
  (products: ProductUseCases): Handler<'deleteProduct'> =>
  async ({ ctx, path }) => {
    await products.remove(ctx, requireActor(ctx.actor, false).userId, path.product_id);
    return { status: 204 };
  };

import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { ProductUseCases } from '../domain/products';
import { sellerResponse } from './product-mapper';

export const bumpProduct =
  (products: ProductUseCases): Handler<'bumpProduct'> =>
  async ({ ctx, path, body }) => {
    const actorId = requireActor(ctx.actor, false).userId;
    const { body: json, etag } = sellerResponse(await products.bump(ctx, actorId, path.product_id, body?.price), actorId);
    return { status: 200, headers: { ETag: etag }, body: json };
  };

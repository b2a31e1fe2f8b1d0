import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { ProductUseCases } from '../domain/products';
import { sellerResponse } from './product-mapper';

export const changeProductStatus =
  (products: ProductUseCases): Handler<'changeProductStatus'> =>
  async ({ ctx, path, body }) => {
    const actorId = requireActor(ctx.actor, false).userId;
    const { body: json, etag } = sellerResponse(await products.changeStatus(ctx, actorId, path.product_id, body.status, body.buyer_id), actorId);
    return { status: 200, headers: { ETag: etag }, body: json };
  };

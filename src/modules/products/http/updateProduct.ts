import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { ProductUseCases } from '../domain/products';
import { sellerResponse } from './product-mapper';

export const updateProduct =
  (products: ProductUseCases): Handler<'updateProduct'> =>
  async ({ ctx, path, headers, body }) => {
    const actorId = requireActor(ctx.actor, false).userId;
    const fields = {
      title: body.title,
      description: body.description,
      categoryId: body.category_id,
      price: body.price,
      offersAllowed: body.offers_allowed,
      condition: body.condition,
      tradeMethods: body.trade_methods,
      shippingFee: body.shipping_fee,
      quantity: body.quantity,
    };
    const { body: json, etag } = sellerResponse(await products.update(ctx, actorId, path.product_id, fields, headers['If-Match']), actorId);
    return { status: 200, headers: { ETag: etag }, body: json };
  };

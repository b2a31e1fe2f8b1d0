import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { ProductUseCases } from '../domain/products';
import { sellerResponse } from './product-mapper';

export const createProduct =
  (products: ProductUseCases): Handler<'createProduct'> =>
  async ({ ctx, body }) => {
    const sellerId = requireActor(ctx.actor, false).userId;
    const product = await products.create(ctx, sellerId, {
      title: body.title,
      description: body.description ?? '',
      categoryId: body.category_id,
      price: body.price,
      offersAllowed: body.offers_allowed ?? true,
      condition: body.condition,
      tradeMethods: body.trade_methods,
      shippingFee: body.shipping_fee ?? 0,
      quantity: body.quantity ?? 1,
    });
    const { body: json, etag } = sellerResponse(product, sellerId);
    return { status: 201, headers: { ETag: etag }, body: json };
  };

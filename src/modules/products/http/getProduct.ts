import { etagMatches } from '../../../platform/http/conditional';
import type { RequestContext } from '../../../platform/context';
import type { Handler } from '../../../platform/http/operations';
import type { ProductUseCases } from '../domain/products';
import { readResponse } from './product-mapper';

/** Counts a view (engagement); never throws, and is not awaited: counting must not slow the read. */
export type RecordView = (ctx: RequestContext, productId: string, opts: { sellerId: string }) => Promise<void>;

export const getProduct =
  (products: ProductUseCases, recordView?: RecordView): Handler<'getProduct'> =>
  async ({ ctx, path, headers }) => {
    const viewerId = ctx.actor?.userId;
    const read = await products.get(viewerId, path.product_id);
    void recordView?.(ctx, read.product.id, { sellerId: read.product.sellerId });
    const { body, etag } = readResponse(read, viewerId);
    // The body depends on who asks (the seller's fields, a hidden listing, liked_by_me), so no
    // shared cache may keep it (private), and a browser asks again each time (no-cache), with the
    // ETag, which makes that a 304 when nothing changed.
    const caching = { ETag: etag, 'Cache-Control': 'private, no-cache' };
    if (etagMatches(headers['If-None-Match'], etag)) return { status: 304, headers: caching };
    return { status: 200, headers: caching, body };
  };

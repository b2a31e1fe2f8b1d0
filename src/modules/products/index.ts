import type Redis from 'ioredis';
import type { Sequelize } from 'sequelize';
import { lazyCollection, type DocumentStore } from '../../platform/documents/document-store';
import { eventRecorder } from '../../platform/events/event-store';
import type { Subscription } from '../../platform/events/subscriber';
import type { Logger } from '../../platform/logger';
import { createRequireVerifiedNeighbourhood } from '../neighbourhoods';
import { ProductDetailCache } from './data/detail-cache';
import { createProductRepository } from './data/product-repository';
import { listingReviewUseCases, type ListingReviewDeps } from './domain/listing-review';
import { productUseCases, type ProductsDeps } from './domain/products';
import { bumpProduct } from './http/bumpProduct';
import { changeProductStatus } from './http/changeProductStatus';
import { createProduct } from './http/createProduct';
import { deleteProduct } from './http/deleteProduct';
import { getProduct, type RecordView } from './http/getProduct';
import { listFlaggedProducts } from './http/listFlaggedProducts';
import { listUserProducts } from './http/listUserProducts';
import { reviewFlaggedProduct } from './http/reviewFlaggedProduct';
import { updateProduct } from './http/updateProduct';
import { PRODUCT_DETAILS, productDetailProjection, type ProductDetailDoc } from './product-detail.projection';

export { ProductDetailCache, productCacheKey } from './data/detail-cache';
export { moderateListing } from './domain/moderation';

interface ProductsModuleDeps {
  sequelize: Sequelize;
  redis: Redis;
  store: DocumentStore;
  log: Logger;
  cacheTtlSeconds: number;
  /** From the engagement component, when wired: fills `liked_by_me`. */
  likedBy?: ProductsDeps['likedBy'];
  /** From the engagement component, when wired: counts views of the detail. */
  recordView?: RecordView;
  /** From account administration: the review queue's staff check (`listings:moderate`). */
  requireModerator?: ListingReviewDeps['requireModerator'];
}

const noStaff: ListingReviewDeps['requireModerator'] = async () => {
  throw new Error('the review queue needs account administration wired in (requireModerator)');
};

const detailsOf = (store: DocumentStore) => lazyCollection<ProductDetailDoc>(store, PRODUCT_DETAILS);

/** Wires the listings component: repository, detail cache, use cases and handlers. */
export function productsModule(d: ProductsModuleDeps) {
  const cache = new ProductDetailCache(d.redis, d.cacheTtlSeconds, d.log);
  const repository = createProductRepository(d.sequelize);
  const recordEvents = eventRecorder(d.sequelize);
  const products = productUseCases({
    sequelize: d.sequelize,
    products: repository,
    requireVerifiedNeighbourhood: createRequireVerifiedNeighbourhood(d.sequelize),
    recordEvents,
    cache,
    details: detailsOf(d.store),
    ...(d.likedBy ? { likedBy: d.likedBy } : {}),
  });
  const review = listingReviewUseCases({ sequelize: d.sequelize, products: repository, recordEvents, cache, requireModerator: d.requireModerator ?? noStaff });
  return {
    products,
    cache,
    handlers: {
      createProduct: createProduct(products),
      getProduct: getProduct(products, d.recordView),
      updateProduct: updateProduct(products),
      deleteProduct: deleteProduct(products),
      changeProductStatus: changeProductStatus(products),
      bumpProduct: bumpProduct(products),
      listUserProducts: listUserProducts(products),
      listFlaggedProducts: listFlaggedProducts(review),
      reviewFlaggedProduct: reviewFlaggedProduct(review),
    },
  };
}
export type ProductsModule = ReturnType<typeof productsModule>;

/**
 * For the worker: clears a listing's cached detail when another component changes what it shows
 * (photos, likes, its category's name) or its seller's public face changes. The listings' own
 * changes clear it on commit already. For photos it first applies the ProductDetail projection itself (idempotent by
 * event position), so the reload cannot race the projection's own subscriber and cache old images.
 */
export function productDetailCacheSubscription(d: { sequelize: Sequelize; redis: Redis; store: DocumentStore; log: Logger; cacheTtlSeconds: number }): Subscription {
  const cache = new ProductDetailCache(d.redis, d.cacheTtlSeconds, d.log);
  const details = detailsOf(d.store);
  const products = createProductRepository(d.sequelize);
  return {
    name: 'products.detail-cache',
    events: ['product.images_changed', 'product.liked', 'product.unliked', 'user.profile_updated', 'user.verified', 'category.updated'],
    // The ids are read in the inbox transaction: it holds the claimed inbox row and a pooled
    // connection, and a second connection could be long in coming.
    // A failed invalidation is logged, not retried: with Redis unreachable for minutes, retrying
    // would send every event of this subscription to the DLQ, and the entry expires with its TTL.
    async handle(event, { transaction }) {
      if (event.type === 'product.images_changed') await productDetailProjection.apply(event, await details());
      if (event.aggregate_type === 'user') {
        for (const id of await products.idsBySeller(event.aggregate_id, transaction)) await cache.invalidate(id);
        return;
      }
      if (event.aggregate_type === 'category') {
        // The detail shows the name of the listing's own category only (not its parents', nor the
        // order among siblings), so only a new name, and only that category's listings.
        const { changes, previous } = event.payload as { changes: { name?: string }; previous: { name: string } };
        if (changes.name === undefined || changes.name === previous.name) return;
        for (const id of await products.idsInCategory(event.aggregate_id, transaction)) await cache.invalidate(id);
        return;
      }
      await cache.invalidate(event.aggregate_id);
    },
  };
}

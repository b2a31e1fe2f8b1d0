import type { Doc } from '../../platform/documents/document-store';
import type { Projection } from '../../platform/events/projection';
import type { ProductImage } from './domain/product';

/**
 * ProductDetail: the rich detail of a listing as a document, kept from `product.*` events
 * (their payloads are full snapshots, so no event needs the table). It holds what the command
 * table does not: the processed images (`product.images_changed`, from the photos component) and,
 * later, specifications and tags. getProduct takes the images from here and everything the seller
 * edits from the table, so an edit shows on the next read without waiting for this projection.
 */
export interface ProductDetailDoc extends Doc {
  seller_id: string;
  title: string;
  description: string;
  category_id: string;
  category_path: string;
  price: number;
  offers_allowed: boolean;
  condition: string;
  trade_methods: string[];
  shipping_fee: number;
  dong_code: string;
  lat: number;
  lng: number;
  quantity: number;
  status: string;
  buyer_id: string | null;
  bumped_at: string;
  created_at: string;
  updated_at: string;
  deleted: boolean;
  images: ProductImage[];
  specifications: Record<string, string>;
  tags: string[];
}

export const PRODUCT_DETAILS = {
  name: 'product_details',
  indexes: [
    { field: 'seller_id', type: 'string' as const },
    { field: 'status', type: 'string' as const },
  ],
};

const SNAPSHOT = ['seller_id', 'title', 'description', 'category_id', 'category_path', 'price', 'offers_allowed', 'condition', 'trade_methods', 'shipping_fee', 'dong_code', 'lat', 'lng', 'quantity', 'status', 'bumped_at', 'created_at', 'updated_at'] as const;

const empty = (id: string, occurredAt: string): ProductDetailDoc => ({
  id,
  version: 0,
  seller_id: '',
  title: '',
  description: '',
  category_id: '',
  category_path: '',
  price: 0,
  offers_allowed: true,
  condition: 'used',
  trade_methods: [],
  shipping_fee: 0,
  dong_code: '',
  lat: 0,
  lng: 0,
  quantity: 1,
  status: 'on_sale',
  buyer_id: null,
  bumped_at: occurredAt,
  created_at: occurredAt,
  updated_at: occurredAt,
  deleted: false,
  images: [],
  specifications: {},
  tags: [],
});

export const productDetailProjection: Projection<ProductDetailDoc> = {
  name: 'product-detail',
  collection: PRODUCT_DETAILS,
  events: ['product.created', 'product.updated', 'product.status_changed', 'product.bumped', 'product.deleted', 'product.images_changed'],
  async apply(event, docs) {
    const p = event.payload as Record<string, unknown>;
    const id = event.aggregate_id;
    const current = await docs.get(id);
    // The event position as version: redeliveries and replays of older events change nothing.
    if (current && current.version >= event.position) return;
    const next: ProductDetailDoc = { ...(current ?? empty(id, event.occurred_at)), version: event.position };
    switch (event.type) {
      case 'product.created':
      case 'product.updated':
        for (const field of SNAPSHOT) if (p[field] !== undefined) (next as Record<string, unknown>)[field] = p[field];
        break;
      case 'product.status_changed':
        Object.assign(next, { status: p.status, buyer_id: p.buyer_id ?? null, updated_at: event.occurred_at });
        break;
      case 'product.bumped':
        Object.assign(next, { bumped_at: p.bumped_at, price: p.price });
        break;
      case 'product.deleted':
        next.deleted = true;
        break;
      case 'product.images_changed':
        next.images = Array.isArray(p.images) ? (p.images as ProductImage[]) : [];
        break;
    }
    await docs.upsert(next);
  },
};

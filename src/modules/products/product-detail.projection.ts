import type { Doc } from '../../platform/documents/document-store';
import type { StoredEvent } from '../../platform/events/event';
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
  /** The event position that last set each field (see the projection). */
  positions: Partial<Record<string, number>>;
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
  positions: {},
});

/**
 * Each field keeps the position of the event that last set it, and an event sets a field only
 * when it is newer than that: the document is the same whatever order the events arrive in
 * (images processed before a redelivered `product.created`, a replay, a DLQ re-drive), and a
 * redelivery changes nothing. `version` counts the document's writes: the store's compare-and-set
 * on it makes two events applied at once both count (the loser reads again and re-applies).
 */
export const productDetailProjection: Projection<ProductDetailDoc> = {
  name: 'product-detail',
  collection: PRODUCT_DETAILS,
  events: ['product.created', 'product.updated', 'product.status_changed', 'product.bumped', 'product.deleted', 'product.images_changed'],
  async apply(event, docs) {
    for (;;) {
      const current = await docs.get(event.aggregate_id);
      const next = merged(event, current);
      if (!next || (await docs.upsert(next))) return;
    }
  },
};

/** The document with the event's fields applied where the event is newer; null when it changes nothing. */
function merged(event: StoredEvent, current: ProductDetailDoc | null): ProductDetailDoc | null {
  const p = event.payload;
  const next: ProductDetailDoc = { ...(current ?? empty(event.aggregate_id, event.occurred_at)), positions: { ...current?.positions } };
  let changed = false;
  const set = (field: Exclude<keyof ProductDetailDoc, 'id' | 'version' | 'positions'>, value: unknown) => {
    if (value === undefined || (next.positions[field] ?? 0) >= event.position) return;
    (next as Record<string, unknown>)[field] = value;
    next.positions[field] = event.position;
    changed = true;
  };
  switch (event.type) {
    case 'product.created':
    case 'product.updated':
      for (const field of SNAPSHOT) set(field, p[field]);
      break;
    case 'product.status_changed':
      set('status', p.status);
      set('buyer_id', p.buyer_id ?? null);
      set('updated_at', event.occurred_at);
      break;
    case 'product.bumped':
      set('bumped_at', p.bumped_at);
      set('price', p.price);
      break;
    case 'product.deleted':
      set('deleted', true);
      break;
    case 'product.images_changed':
      set('images', Array.isArray(p.images) ? (p.images as ProductImage[]) : []);
      break;
  }
  if (!changed) return null;
  next.version = (current?.version ?? 0) + 1;
  return next;
}

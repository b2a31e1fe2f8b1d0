import { createHash } from 'node:crypto';
import type { components } from '../../../../generated/api';
import { toJsonBytes, type JsonBytes } from '../../../platform/http/json-bytes';
import type { FlaggedListing } from '../domain/listing-review';
import type { FlagRule } from '../domain/moderation';
import type { ProductRead } from '../domain/products';
import type { ProductView } from '../domain/product';

type Schemas = components['schemas'];

// About 100 m: the dong's point is already approximate; rounding keeps it from looking exact.
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** The API shape of a listing for this viewer: buyer and moderation only for the seller. */
export function toProduct(p: ProductView, viewerId: string | undefined, likedByMe?: boolean): Schemas['Product'] {
  const own = viewerId === p.sellerId;
  return {
    id: p.id,
    object: 'product',
    seller: { id: p.seller.id, nickname: p.seller.nickname, identity_verified: p.seller.identityVerified },
    title: p.title,
    description: p.description,
    category: { id: p.category.id, name: p.category.name, path: p.category.path },
    price: p.price,
    offers_allowed: p.offersAllowed,
    free: p.price === 0,
    condition: p.condition,
    trade_methods: p.tradeMethods,
    shipping_fee: p.shippingFee,
    location: { dong_code: p.dong.code, dong_name: p.dong.name, sigungu: p.dong.sigungu, lat: round3(p.lat), lng: round3(p.lng) },
    quantity: p.quantity,
    status: p.status,
    ...(own && p.buyerId ? { buyer_id: p.buyerId } : {}),
    ...(own ? { moderation: p.moderation } : {}),
    images: [...p.images].sort((a, b) => a.position - b.position),
    like_count: p.likeCount,
    view_count: p.viewCount,
    chat_count: p.chatCount,
    ...(likedByMe !== undefined ? { liked_by_me: likedByMe } : {}),
    bumped_at: p.bumpedAt.toISOString(),
    created_at: p.createdAt.toISOString(),
    updated_at: p.updatedAt.toISOString(),
  };
}

/**
 * The serialised listing with its strong ETag `"v<version>-<digest>"`: the digest covers the
 * bytes (so a like or a new photo changes the tag and If-None-Match sees it), the version is what
 * If-Match compares (assertVersionMatches).
 */
export function productResponse(p: ProductView, viewerId: string | undefined, likedByMe?: boolean): { body: JsonBytes<Schemas['Product']>; etag: string } {
  const body = toJsonBytes(toProduct(p, viewerId, likedByMe));
  return { body, etag: `"v${p.version}-${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

export const readResponse = (read: ProductRead, viewerId: string | undefined) => productResponse(read.product, viewerId, read.likedByMe);

/**
 * A write's answer, the seller's own view: the same representation (and ETag) as the seller's
 * next getProduct, `liked_by_me` included (false: sellers cannot like their own listings).
 */
export const sellerResponse = (p: ProductView, sellerId: string) => productResponse(p, sellerId, false);

/** Staff's view of a queued listing; the matched text on one line, as the schema allows. */
export const toFlaggedListing = ({ product: p, flags }: FlaggedListing): Schemas['FlaggedListing'] => ({
  object: 'flagged_listing',
  id: p.id,
  seller_id: p.sellerId,
  title: p.title,
  description: p.description,
  category_id: p.categoryId,
  price: p.price,
  status: p.status,
  version: p.version,
  flags: flags.slice(0, 10).map((f) => ({ field: f.field, rule: f.rule as FlagRule, match: f.match.replace(/[\x00-\x1F\x7F]+/g, ' ').trim().slice(0, 200) })),
  created_at: p.createdAt.toISOString(),
  updated_at: p.updatedAt.toISOString(),
});

/** A listing's sale status: 판매중, 예약중, 거래완료, 숨김. */
export type ProductStatus = 'on_sale' | 'reserved' | 'sold' | 'hidden';
export type ProductCondition = 'new' | 'like_new' | 'used' | 'for_parts';
export type TradeMethod = 'meet_up' | 'parcel' | 'convenience_store';
export type Moderation = 'ok' | 'flagged';

/** The command side of a listing, with what a reader needs joined in (category, dong, seller). */
export interface Product {
  id: string;
  sellerId: string;
  title: string;
  description: string;
  categoryId: string;
  price: number;
  offersAllowed: boolean;
  condition: ProductCondition;
  tradeMethods: TradeMethod[];
  shippingFee: number;
  dongCode: string;
  /** The dong's representative point, never the seller's own. */
  lat: number;
  lng: number;
  quantity: number;
  status: ProductStatus;
  buyerId: string | null;
  moderation: Moderation;
  /** What a moderator last approved (flagFingerprint): the same findings do not flag the listing again. */
  moderationCleared: string | null;
  likeCount: number;
  viewCount: number;
  chatCount: number;
  bumpedAt: Date;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
  version: number;
}

/** A product with what the detail shows around it. */
export interface ProductView extends Product {
  category: { id: string; name: string; path: string };
  dong: { code: string; name: string; sigungu: string };
  seller: { id: string; nickname: string; identityVerified: boolean };
  images: ProductImage[];
}

export interface ProductImage {
  id: string;
  url: string;
  thumbnail_url: string;
  width: number;
  height: number;
  position: number;
}

/** What the seller writes: create and edit take the same fields. */
export interface ListingFields {
  title: string;
  description: string;
  categoryId: string;
  price: number;
  offersAllowed: boolean;
  condition: ProductCondition;
  tradeMethods: TradeMethod[];
  shippingFee: number;
  quantity: number;
}

/** Whether an edit would store what the listing already holds (trade methods in the same order). */
export function sameListingFields(p: Product, f: ListingFields): boolean {
  return f.title === p.title && f.description === p.description && f.categoryId === p.categoryId && f.price === p.price
    && f.offersAllowed === p.offersAllowed && f.condition === p.condition && f.shippingFee === p.shippingFee && f.quantity === p.quantity
    && f.tradeMethods.length === p.tradeMethods.length && f.tradeMethods.every((m, i) => m === p.tradeMethods[i]);
}

export const BUMP_INTERVAL_SECONDS = 24 * 3600;
export const DAILY_LISTING_LIMIT = 30;
export const LISTING_LIMIT_WINDOW_HOURS = 24;
export const DUPLICATE_WINDOW_HOURS = 24;
export const DUPLICATE_SIMILARITY = 0.9;

/** Sale-status moves a seller may make; `sold` is final (reviews and orders hang on it). */
const TRANSITIONS: Record<ProductStatus, ProductStatus[]> = {
  on_sale: ['reserved', 'sold', 'hidden'],
  reserved: ['on_sale', 'sold', 'hidden'],
  hidden: ['on_sale'],
  sold: [],
};
export const canMove = (from: ProductStatus, to: ProductStatus) => TRANSITIONS[from].includes(to);
export const takesBuyer = (status: ProductStatus) => status === 'reserved' || status === 'sold';

/** A listing as engagement lists show it (likes, similar items, recommendations). */
export interface ListingSummary {
  id: string;
  sellerId: string;
  title: string;
  price: number;
  status: 'on_sale' | 'reserved' | 'sold' | 'hidden';
  condition: 'new' | 'like_new' | 'used' | 'for_parts';
  categoryId: string;
  dongCode: string;
  dongName: string;
  /** The dong's representative point, never the seller's own. */
  lat: number;
  lng: number;
  likeCount: number;
  viewCount: number;
  chatCount: number;
  thumbnailUrl: string | null;
  bumpedAt: Date;
  createdAt: Date;
}

/** What the like and view rules need to know about a listing. */
export interface ListingState {
  id: string;
  sellerId: string;
  status: ListingSummary['status'];
  deleted: boolean;
  /** Awaiting a moderator (flagged by the posting checks): out of lists and alerts until approved. */
  flagged: boolean;
}

/** Others see a listing unless it is deleted or its seller hid it (object-level authorization: 404 otherwise). */
export const visibleTo = (l: ListingState, userId: string | undefined): boolean => !l.deleted && (l.status !== 'hidden' || l.sellerId === userId);

import type { components } from '../../../../generated/api';
import type { KeywordAlert } from '../data/keyword-alert-repository';
import type { Notification } from '../data/notification-repository';
import type { ListingSummary } from '../domain/listing';
import type { LikeState } from '../domain/likes';

type Schemas = components['schemas'];

export const toProductLike = (s: LikeState): Schemas['ProductLike'] => ({ object: 'product_like', product_id: s.productId, liked: s.liked, like_count: s.likeCount });

/** A listing as lists show it; only listed items (never hidden) reach these lists. */
export const toProductSummary = (l: ListingSummary): Schemas['ProductSummary'] => ({
  id: l.id,
  object: 'product',
  title: l.title,
  price: l.price,
  free: l.price === 0,
  status: l.status === 'hidden' ? 'on_sale' : l.status,
  condition: l.condition,
  category_id: l.categoryId,
  ...(l.thumbnailUrl ? { thumbnail_url: l.thumbnailUrl } : {}),
  location: { dong_code: l.dongCode, dong_name: l.dongName },
  like_count: l.likeCount,
  chat_count: l.chatCount,
  bumped_at: l.bumpedAt.toISOString(),
});

export const toKeywordAlert = (a: KeywordAlert): Schemas['KeywordAlert'] => ({
  object: 'keyword_alert',
  id: a.id,
  keyword: a.keyword,
  ...(a.categoryId ? { category_id: a.categoryId } : {}),
  ...(a.dongCode ? { dong_code: a.dongCode } : {}),
  created_at: a.createdAt.toISOString(),
});

export const toNotification = (n: Notification): Schemas['Notification'] => ({
  object: 'notification',
  id: n.id,
  kind: n.kind,
  ...(n.kind === 'keyword_alert' && n.productId
    ? {
        keyword_alert: {
          keyword: n.data.keyword ?? '',
          ...(n.data.alert_id ? { alert_id: n.data.alert_id } : {}),
          product_id: n.productId,
          title: n.data.title ?? '',
          price: n.data.price ?? 0,
        },
      }
    : {}),
  ...(n.kind === 'listing_review' && n.productId
    ? { listing_review: { product_id: n.productId, title: n.data.title ?? '', decision: n.data.decision === 'removed' ? 'removed' : 'approved' } }
    : {}),
  read: n.readAt !== null,
  created_at: n.createdAt.toISOString(),
});

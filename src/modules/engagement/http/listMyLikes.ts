import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { LikeUseCases } from '../domain/likes';
import { toProductSummary } from './engagement-mapper';

export const listMyLikes =
  (likes: LikeUseCases): Handler<'listMyLikes'> =>
  async ({ ctx, query }) => {
    const page = await likes.list(requireActor(ctx.actor, false).userId, { limit: query.limit ?? 20, ...(query.cursor ? { cursor: query.cursor } : {}) });
    return { status: 200, body: { object: 'list', data: page.items.map(toProductSummary), has_more: page.nextCursor !== null, next_cursor: page.nextCursor } };
  };

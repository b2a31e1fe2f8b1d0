import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { LikeUseCases } from '../domain/likes';
import { toProductLike } from './engagement-mapper';

export const unlikeProduct =
  (likes: LikeUseCases): Handler<'unlikeProduct'> =>
  async ({ ctx, path }) => ({ status: 200, body: toProductLike(await likes.unlike(ctx, requireActor(ctx.actor, false).userId, path.product_id)) });

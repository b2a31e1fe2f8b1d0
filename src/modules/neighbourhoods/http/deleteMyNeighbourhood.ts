import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { NeighbourhoodUseCases } from '../domain/neighbourhoods';

export const deleteMyNeighbourhood =
  (neighbourhoods: NeighbourhoodUseCases): Handler<'deleteMyNeighbourhood'> =>
  async ({ ctx, path }) => {
    const userId = requireActor(ctx.actor, false).userId;
    await neighbourhoods.remove(ctx, userId, path.dong_code);
    return { status: 204 };
  };

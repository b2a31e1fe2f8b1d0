import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { NeighbourhoodUseCases } from '../domain/neighbourhoods';
import { toNeighbourhood } from './neighbourhood-mapper';

export const updateMyNeighbourhood =
  (neighbourhoods: NeighbourhoodUseCases): Handler<'updateMyNeighbourhood'> =>
  async ({ ctx, path, body }) => {
    const userId = requireActor(ctx.actor, false).userId;
    const changes = { ...(body.primary ? { primary: true } : {}), ...(body.range ? { range: body.range } : {}) };
    return { status: 200, body: toNeighbourhood(await neighbourhoods.update(ctx, userId, path.dong_code, changes)) };
  };

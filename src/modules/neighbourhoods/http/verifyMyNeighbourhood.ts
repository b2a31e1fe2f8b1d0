import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { NeighbourhoodUseCases } from '../domain/neighbourhoods';
import { toNeighbourhood } from './neighbourhood-mapper';

export const verifyMyNeighbourhood =
  (neighbourhoods: NeighbourhoodUseCases): Handler<'verifyMyNeighbourhood'> =>
  async ({ ctx, body }) => {
    const userId = requireActor(ctx.actor, false).userId;
    return { status: 200, body: toNeighbourhood(await neighbourhoods.verify(ctx, userId, { lat: body.lat, lng: body.lng })) };
  };

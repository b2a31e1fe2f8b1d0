import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { NeighbourhoodUseCases } from '../domain/neighbourhoods';
import { toNeighbourhood } from './neighbourhood-mapper';

export const listMyNeighbourhoods =
  (neighbourhoods: NeighbourhoodUseCases): Handler<'listMyNeighbourhoods'> =>
  async ({ ctx }) => {
    const userId = requireActor(ctx.actor, false).userId;
    const data = (await neighbourhoods.list(userId)).map(toNeighbourhood);
    return { status: 200, body: { object: 'list', data, has_more: false, next_cursor: null } };
  };

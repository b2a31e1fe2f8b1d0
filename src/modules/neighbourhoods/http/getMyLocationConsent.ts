import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { NeighbourhoodUseCases } from '../domain/neighbourhoods';
import { toLocationConsent } from './neighbourhood-mapper';

export const getMyLocationConsent =
  (neighbourhoods: NeighbourhoodUseCases): Handler<'getMyLocationConsent'> =>
  async ({ ctx }) => {
    const userId = requireActor(ctx.actor, false).userId;
    return { status: 200, body: toLocationConsent(await neighbourhoods.consent(userId)) };
  };

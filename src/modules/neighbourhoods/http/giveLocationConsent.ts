import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { NeighbourhoodUseCases } from '../domain/neighbourhoods';
import { toLocationConsent } from './neighbourhood-mapper';

export const giveLocationConsent =
  (neighbourhoods: NeighbourhoodUseCases): Handler<'giveLocationConsent'> =>
  async ({ ctx, body }) => {
    const userId = requireActor(ctx.actor, false).userId;
    return { status: 200, body: toLocationConsent(await neighbourhoods.giveConsent(ctx, userId, body.terms_version)) };
  };

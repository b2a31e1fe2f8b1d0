import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { NeighbourhoodUseCases } from '../domain/neighbourhoods';

export const withdrawLocationConsent =
  (neighbourhoods: NeighbourhoodUseCases): Handler<'withdrawLocationConsent'> =>
  async ({ ctx }) => {
    const userId = requireActor(ctx.actor, false).userId;
    await neighbourhoods.withdrawConsent(ctx, userId);
    return { status: 204 };
  };

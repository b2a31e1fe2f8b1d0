import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { SearchHistoryUseCases } from '../domain/history';

export const clearMySearchHistory =
  (history: SearchHistoryUseCases): Handler<'clearMySearchHistory'> =>
  async ({ ctx }) => {
    await history.clear(requireActor(ctx.actor, false).userId);
    return { status: 204 };
  };

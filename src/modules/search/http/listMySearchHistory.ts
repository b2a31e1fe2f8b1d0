import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { SearchHistoryUseCases } from '../domain/history';
import { toSearchHistoryList } from './search-mapper';

export const listMySearchHistory =
  (history: SearchHistoryUseCases): Handler<'listMySearchHistory'> =>
  async ({ ctx, query }) => {
    const userId = requireActor(ctx.actor, false).userId;
    return { status: 200, body: toSearchHistoryList(await history.list(userId, query.limit ?? 20, query.cursor)) };
  };

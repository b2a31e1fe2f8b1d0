import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { KeywordAlertUseCases } from '../domain/keyword-alerts';

export const deleteKeywordAlert =
  (alerts: KeywordAlertUseCases): Handler<'deleteKeywordAlert'> =>
  async ({ ctx, path }) => {
    await alerts.remove(requireActor(ctx.actor, false).userId, path.alert_id);
    return { status: 204 };
  };

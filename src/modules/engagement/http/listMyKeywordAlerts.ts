import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { KeywordAlertUseCases } from '../domain/keyword-alerts';
import { toKeywordAlert } from './engagement-mapper';

export const listMyKeywordAlerts =
  (alerts: KeywordAlertUseCases): Handler<'listMyKeywordAlerts'> =>
  async ({ ctx }) => {
    const data = (await alerts.list(requireActor(ctx.actor, false).userId)).map(toKeywordAlert);
    return { status: 200, body: { object: 'list', data, has_more: false, next_cursor: null } };
  };

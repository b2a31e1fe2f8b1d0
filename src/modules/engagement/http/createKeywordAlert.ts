import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { KeywordAlertUseCases } from '../domain/keyword-alerts';
import { toKeywordAlert } from './engagement-mapper';

export const createKeywordAlert =
  (alerts: KeywordAlertUseCases): Handler<'createKeywordAlert'> =>
  async ({ ctx, body }) => {
    const alert = await alerts.create(ctx, requireActor(ctx.actor, false).userId, {
      keyword: body.keyword,
      ...(body.category_id ? { categoryId: body.category_id } : {}),
      ...(body.dong_code ? { dongCode: body.dong_code } : {}),
    });
    return { status: 201, body: toKeywordAlert(alert) };
  };

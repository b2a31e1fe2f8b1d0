import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { NotificationUseCases } from '../domain/notifications';

export const markMyNotificationsRead =
  (notifications: NotificationUseCases): Handler<'markMyNotificationsRead'> =>
  async ({ ctx, body }) => {
    // The schema admits exactly one of `up_to` and `all`.
    const marked = await notifications.markRead(ctx, requireActor(ctx.actor, false).userId, body.all ? undefined : body.up_to);
    return { status: 200, body: { object: 'notifications_read', marked } };
  };

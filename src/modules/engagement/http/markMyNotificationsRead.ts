import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { NotificationUseCases } from '../domain/notifications';

export const markMyNotificationsRead =
  (notifications: NotificationUseCases): Handler<'markMyNotificationsRead'> =>
  async ({ ctx, body }) => {
    // The body is optional: none means all.
    const marked = await notifications.markRead(ctx, requireActor(ctx.actor, false).userId, body?.up_to);
    return { status: 200, body: { object: 'notifications_read', marked } };
  };

import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { NotificationUseCases } from '../domain/notifications';
import { toNotification } from './engagement-mapper';

export const updateMyNotification =
  (notifications: NotificationUseCases): Handler<'updateMyNotification'> =>
  async ({ ctx, path, body }) => {
    const updated = await notifications.setRead(ctx, requireActor(ctx.actor, false).userId, path.notification_id, body.read);
    return { status: 200, body: toNotification(updated) };
  };

import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { NotificationUseCases } from '../domain/notifications';
import { toNotification } from './engagement-mapper';

export const listMyNotifications =
  (notifications: NotificationUseCases): Handler<'listMyNotifications'> =>
  async ({ ctx, query }) => {
    const page = await notifications.list(requireActor(ctx.actor, false).userId, {
      limit: query.limit ?? 20,
      unreadOnly: query.unread === true,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
    return { status: 200, body: { object: 'list', data: page.items.map(toNotification), has_more: page.nextCursor !== null, next_cursor: page.nextCursor } };
  };

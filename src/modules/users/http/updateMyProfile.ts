import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { UsersService } from '../service';
import { toMyProfile } from './user-mapper';

export const updateMyProfile =
  (users: UsersService): Handler<'updateMyProfile'> =>
  async ({ ctx, headers, body }) => {
    const changes = { nickname: body.nickname, bio: body.bio ?? null, avatarUrl: body.avatar_url ?? null, notificationPrefs: body.notification_preferences };
    const { user, etag } = await users.profile.updateMyProfile(ctx, requireActor(ctx.actor, false).userId, changes, headers['If-Match']);
    return { status: 200, headers: { ETag: etag }, body: toMyProfile(user) };
  };

import { etagMatches } from '../../../platform/http/conditional';
import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { UsersService } from '../service';
import { toMyProfile } from './user-mapper';

export const getMyProfile =
  (users: UsersService): Handler<'getMyProfile'> =>
  async ({ ctx, headers }) => {
    const { user, etag } = await users.profile.getMyProfile(requireActor(ctx.actor, false).userId);
    if (etagMatches(headers['If-None-Match'], etag)) return { status: 304, headers: { ETag: etag } };
    return { status: 200, headers: { ETag: etag }, body: toMyProfile(user) };
  };

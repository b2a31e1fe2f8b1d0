import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { UsersService } from '../service';

export const revokeMySession =
  (users: UsersService): Handler<'revokeMySession'> =>
  async ({ ctx, path }) => {
    const actor = requireActor(ctx.actor, false);
    await users.sessions.endSession(ctx, actor.userId, path.session_id, 'revoked_by_user');
    return { status: 204 };
  };

import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { UsersService } from '../service';

export const logOut =
  (users: UsersService): Handler<'logOut'> =>
  async ({ ctx }) => {
    const actor = requireActor(ctx.actor, false);
    await users.sessions.endSession(ctx, actor.userId, actor.sessionId, 'logout');
    return { status: 204 };
  };

import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { UsersService } from '../service';

export const changeMyPassword =
  (users: UsersService): Handler<'changeMyPassword'> =>
  async ({ ctx, body }) => {
    const actor = requireActor(ctx.actor, false);
    await users.accounts.changePassword(ctx, actor.userId, actor.sessionId, body.current_password, body.new_password);
    return { status: 204 };
  };

import { AppError, unauthenticated } from '../../../platform/errors';
import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { UsersService } from '../service';

export const logOut =
  (users: UsersService): Handler<'logOut'> =>
  async ({ ctx }) => {
    const actor = requireActor(ctx.actor, false);
    try {
      await users.sessions.endSession(ctx, actor.userId, actor.sessionId, 'logout');
    } catch (err) {
      // The token's session is no longer active (expired, or ended while its revocation entry was
      // lost): the token no longer stands, which the operation documents as a 401, not a 404.
      if (err instanceof AppError && err.status === 404) throw unauthenticated('The session of this access token has already ended.');
      throw err;
    }
    return { status: 204 };
  };

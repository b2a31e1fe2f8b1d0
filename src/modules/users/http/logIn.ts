import type { Handler } from '../../../platform/http/operations';
import type { UsersService } from '../service';
import { toSessionTokens } from './user-mapper';

export const logIn =
  (users: UsersService): Handler<'logIn'> =>
  async ({ ctx, body }) => {
    const user = await users.sessions.checkPassword(ctx, body.email, body.password);
    const tokens = await users.sessions.openSession(ctx, user, 'password', body.device_name);
    return { status: 200, body: toSessionTokens(tokens) };
  };

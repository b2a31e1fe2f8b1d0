import type { Handler } from '../../../platform/http/operations';
import type { UsersService } from '../service';
import { toLoginResult } from './user-mapper';

export const logIn =
  (users: UsersService): Handler<'logIn'> =>
  async ({ ctx, body }) => {
    const user = await users.sessions.checkPassword(ctx, body.email, body.password);
    return { status: 200, body: toLoginResult(await users.sessions.signIn(ctx, user, 'password', body.device_name)) };
  };

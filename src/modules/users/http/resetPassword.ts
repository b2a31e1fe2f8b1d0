import type { Handler } from '../../../platform/http/operations';
import type { UsersService } from '../service';

export const resetPassword =
  (users: UsersService): Handler<'resetPassword'> =>
  async ({ ctx, body }) => {
    await users.accounts.resetPassword(ctx, body.token, body.new_password);
    return { status: 204 };
  };

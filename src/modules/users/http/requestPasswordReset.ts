import type { Handler } from '../../../platform/http/operations';
import type { UsersService } from '../service';

export const requestPasswordReset =
  (users: UsersService): Handler<'requestPasswordReset'> =>
  async ({ ctx, body }) => {
    await users.accounts.requestPasswordReset(ctx, body.email);
    return { status: 202, body: { object: 'email_message', email: body.email } };
  };

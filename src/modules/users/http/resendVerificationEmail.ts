import type { Handler } from '../../../platform/http/operations';
import type { UsersService } from '../service';

export const resendVerificationEmail =
  (users: UsersService): Handler<'resendVerificationEmail'> =>
  async ({ ctx, body }) => {
    await users.accounts.resendVerification(ctx, body.email);
    return { status: 202, body: { object: 'email_message', email: body.email } };
  };

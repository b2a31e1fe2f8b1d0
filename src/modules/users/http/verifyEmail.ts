import type { Handler } from '../../../platform/http/operations';
import type { UsersService } from '../service';

export const verifyEmail =
  (users: UsersService): Handler<'verifyEmail'> =>
  async ({ ctx, body }) => {
    const user = await users.accounts.verifyEmail(ctx, body.token);
    return { status: 200, body: { object: 'email_verification', user_id: user.id, email: user.email, verified_at: user.emailVerifiedAt!.toISOString() } };
  };

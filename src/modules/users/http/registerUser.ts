import type { Handler } from '../../../platform/http/operations';
import type { UsersService } from '../service';

export const registerUser =
  (users: UsersService): Handler<'registerUser'> =>
  async ({ ctx, body }) => {
    await users.accounts.register(ctx, { email: body.email, password: body.password, nickname: body.nickname, ...(body.phone ? { phone: body.phone } : {}) });
    return { status: 202, body: { object: 'registration', email: body.email, status: 'verification_sent' } };
  };

import type { Handler } from '../../../platform/http/operations';
import type { UsersService } from '../service';
import { toSessionTokens } from './user-mapper';

export const refreshSession =
  (users: UsersService): Handler<'refreshSession'> =>
  async ({ ctx, body }) => ({ status: 200, body: toSessionTokens(await users.sessions.refresh(ctx, body.refresh_token)) });

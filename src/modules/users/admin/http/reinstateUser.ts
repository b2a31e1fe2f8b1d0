import type { Handler } from '../../../../platform/http/operations';
import type { AccountAdmin } from '../domain/account-admin';
import { toUserAccount } from './account-mapper';

export const reinstateUser =
  (admin: AccountAdmin): Handler<'reinstateUser'> =>
  async ({ ctx, path }) => ({ status: 200, body: toUserAccount(await admin.reinstate(ctx, path.user_id)) });

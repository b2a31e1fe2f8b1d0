import type { Handler } from '../../../../platform/http/operations';
import type { AccountAdmin } from '../domain/account-admin';
import { toUserAccount } from './account-mapper';

export const getUserAccount =
  (admin: AccountAdmin): Handler<'getUserAccount'> =>
  async ({ ctx, path }) => ({ status: 200, body: toUserAccount(await admin.get(ctx, path.user_id)) });

import type { Handler } from '../../../../platform/http/operations';
import type { AccountAdmin } from '../domain/account-admin';
import { toUserAccount } from './account-mapper';

export const replaceUserRoles =
  (admin: AccountAdmin): Handler<'replaceUserRoles'> =>
  async ({ ctx, path, body }) => ({ status: 200, body: toUserAccount(await admin.replaceRoles(ctx, path.user_id, body.roles)) });

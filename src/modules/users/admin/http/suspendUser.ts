import type { Handler } from '../../../../platform/http/operations';
import type { AccountAdmin } from '../domain/account-admin';
import { toUserAccount } from './account-mapper';

export const suspendUser =
  (admin: AccountAdmin): Handler<'suspendUser'> =>
  async ({ ctx, path, body }) => {
    const account = await admin.suspend(ctx, path.user_id, { kind: body.kind, reason: body.reason, ...(body.until !== undefined ? { until: body.until } : {}) });
    return { status: 200, body: toUserAccount(account) };
  };

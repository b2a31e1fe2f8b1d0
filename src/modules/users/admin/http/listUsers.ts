import type { Handler } from '../../../../platform/http/operations';
import type { AccountAdmin } from '../domain/account-admin';
import { toUserAccount } from './account-mapper';

export const listUsers =
  (admin: AccountAdmin): Handler<'listUsers'> =>
  async ({ ctx, query }) => {
    const page = await admin.list(ctx, {
      ...(query.email ? { email: query.email } : {}),
      ...(query.nickname_prefix ? { nicknamePrefix: query.nickname_prefix } : {}),
      ...(query.status ? { status: query.status } : {}),
      ...(query.role ? { role: query.role } : {}),
      ...(query.cursor ? { cursor: query.cursor } : {}),
      limit: query.limit ?? 20,
    });
    return { status: 200, body: { object: 'list', data: page.items.map(toUserAccount), has_more: page.nextCursor !== null, next_cursor: page.nextCursor } };
  };

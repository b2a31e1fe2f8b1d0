import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { UsersService } from '../service';
import { toSession } from './user-mapper';

export const listMySessions =
  (users: UsersService): Handler<'listMySessions'> =>
  async ({ ctx }) => {
    const actor = requireActor(ctx.actor, false);
    const sessions = await users.sessions.listSessions(actor.userId);
    return { status: 200, body: { object: 'list', data: sessions.map((s) => toSession(s, actor.sessionId)), has_more: false, next_cursor: null } };
  };

import { notFound } from '../../../platform/errors';
import type { Handler } from '../../../platform/http/operations';
import type { UsersService } from '../service';
import { toPublicUser } from './user-mapper';

export const getUser =
  (users: UsersService): Handler<'getUser'> =>
  async ({ path }) => {
    const doc = await users.publicProfile(path.user_id);
    if (!doc || !doc.visible) throw notFound('No user has this id.');
    return { status: 200, body: toPublicUser(doc) };
  };

import type { RequestContext } from '../../../platform/context';
import { etagOf } from '../../../platform/cache/cached-json';
import { inTransaction } from '../../../platform/db/transaction';
import { accountGone } from '../../../platform/errors';
import { metadataFrom } from '../../../platform/events/event-store';
import { assertIfMatch } from '../../../platform/http/conditional';
import type { ProfileChanges } from '../data/user-repository';
import { isReservedNickname, rethrowNicknameTaken } from './accounts';
import type { UsersDeps } from './deps';
import { nicknameReserved, nicknameTaken } from './problems';
import type { User } from './user';

/** The user's own profile with its strong ETag, over the representation the client sees. */
export interface ProfileView {
  user: User;
  etag: string;
}

export function profileUseCases(deps: UsersDeps, represent: (u: User) => unknown) {
  const { sequelize, users, recordEvents } = deps;
  const view = (user: User): ProfileView => ({ user, etag: etagOf(Buffer.from(JSON.stringify(represent(user)))) });

  return {
    /** Read from the system of record, so that a client sees its own change at once. */
    async getMyProfile(userId: string): Promise<ProfileView> {
      const user = await users.findById(userId);
      if (!user) throw accountGone();
      return view(user);
    },

    /** Replaces the editable fields, optimistic on If-Match; records `user.profile_updated` with the public fields. */
    async updateMyProfile(ctx: RequestContext, userId: string, changes: ProfileChanges, ifMatch: string | undefined): Promise<ProfileView> {
      try {
        const updated = await inTransaction(sequelize, ctx, async (t) => {
          const current = await users.findByIdForUpdate(userId, t);
          if (!current) throw accountGone();
          assertIfMatch(ifMatch, view(current).etag, 'profile');
          // Only a new nickname is checked against the staff-like words: a nickname given by staff
          // (the operators' account's) must not block every other edit of the profile.
          if (changes.nickname !== current.nickname && isReservedNickname(changes.nickname)) throw nicknameReserved();
          if (changes.nickname.toLowerCase() !== current.nickname.toLowerCase() && (await users.isNicknameTaken(changes.nickname, userId, t))) throw nicknameTaken();
          const user = (await users.updateProfile(userId, changes, current.version, t))!;
          await recordEvents(
            t,
            { type: 'user', id: userId },
            [{ type: 'user.profile_updated', payload: { user_id: userId, nickname: user.nickname, bio: user.bio, avatar_url: user.avatarUrl } }],
            metadataFrom(ctx),
          );
          return user;
        });
        return view(updated);
      } catch (err) {
        return rethrowNicknameTaken(err);
      }
    },
  };
}

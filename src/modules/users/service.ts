import type { Collection } from '../../platform/documents/document-store';
import { accountUseCases } from './domain/accounts';
import type { UsersDeps } from './domain/deps';
import { profileUseCases } from './domain/profile';
import { sessionUseCases } from './domain/sessions';
import { toMyProfile } from './http/user-mapper';
import type { UserProfileDoc } from './user-profile.projection';

/** The users component's use cases, grouped by concern; handlers call exactly one of them. */
export function createUsersService(deps: UsersDeps, profiles: () => Promise<Collection<UserProfileDoc>>) {
  return {
    accounts: accountUseCases(deps),
    sessions: sessionUseCases(deps),
    profile: profileUseCases(deps, toMyProfile),
    /** Others' view of a user, from the UserProfile read model. */
    publicProfile: async (userId: string) => (await profiles()).get(userId),
  };
}

export type UsersService = ReturnType<typeof createUsersService>;

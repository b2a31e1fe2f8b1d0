import type { Doc } from '../../platform/documents/document-store';
import type { Projection } from '../../platform/events/projection';

/** The public face of a user, as others see it (UserProfile read model). */
export interface UserProfileDoc extends Doc {
  nickname: string;
  bio: string | null;
  avatar_url: string | null;
  identity_verified: boolean;
  /** Suspended or banned users are hidden from others. */
  visible: boolean;
  joined_at: string;
}

export const USER_PROFILES = { name: 'user_profiles', indexes: [{ field: 'nickname', type: 'string' as const }] };

/**
 * UserProfile: kept from user events. Each event carries the fields it changes, and the document
 * takes the event's position as its version, so replays and redeliveries are harmless.
 */
export const userProfileProjection: Projection<UserProfileDoc> = {
  name: 'user-profile',
  collection: USER_PROFILES,
  events: ['user.registered', 'user.profile_updated', 'user.verified', 'user.suspended', 'user.reinstated'],
  async apply(event, docs) {
    const p = event.payload as Record<string, unknown>;
    const id = event.aggregate_id;
    const current = await docs.get(id);
    if (current && current.version >= event.position) return;
    const base: UserProfileDoc = current ?? {
      id,
      version: 0,
      nickname: String(p.nickname ?? ''),
      bio: null,
      avatar_url: null,
      identity_verified: false,
      visible: true,
      joined_at: String(p.joined_at ?? event.occurred_at),
    };
    const next: UserProfileDoc = { ...base, version: event.position };
    switch (event.type) {
      case 'user.profile_updated':
        Object.assign(next, { nickname: p.nickname, bio: p.bio ?? null, avatar_url: p.avatar_url ?? null });
        break;
      case 'user.verified':
        next.identity_verified = true;
        break;
      case 'user.suspended':
        next.visible = false;
        break;
      case 'user.reinstated':
        next.visible = true;
        break;
    }
    await docs.upsert(next);
  },
};

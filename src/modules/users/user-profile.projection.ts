import type { Doc } from '../../platform/documents/document-store';
import type { StoredEvent } from '../../platform/events/event';
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
  /** The event position that last set each field (see the projection). */
  positions: Partial<Record<string, number>>;
}

export const USER_PROFILES = { name: 'user_profiles', indexes: [{ field: 'nickname', type: 'string' as const }] };

type Field = Exclude<keyof UserProfileDoc, 'id' | 'version' | 'positions'>;

/**
 * UserProfile: kept from user events, each carrying the fields it changes. Each field keeps the
 * position of the event that last set it, and an event sets a field only when it is newer: one
 * position for the whole document would let an event that arrives late (a retry after a failure,
 * a dead-letter re-drive, a replay overlapping live delivery) be skipped when a later event of
 * another field came first, and a suspension skipped that way would leave the user shown.
 * `version` counts the document's writes, so two events applied at once both count (the store's
 * compare-and-set makes the loser read again).
 */
export const userProfileProjection: Projection<UserProfileDoc> = {
  name: 'user-profile',
  collection: USER_PROFILES,
  events: ['user.registered', 'user.profile_updated', 'user.verified', 'user.suspended', 'user.reinstated'],
  async apply(event, docs) {
    for (;;) {
      const next = merged(event, await docs.get(event.aggregate_id));
      if (!next || (await docs.upsert(next))) return;
    }
  },
};

const FIELDS: readonly Field[] = ['nickname', 'bio', 'avatar_url', 'identity_verified', 'visible', 'joined_at'];

/** The document with the event's fields applied where the event is newer; null when it changes nothing. */
function merged(event: StoredEvent, current: UserProfileDoc | null): UserProfileDoc | null {
  const p = event.payload as Record<string, unknown>;
  const base: UserProfileDoc = current ?? {
    id: event.aggregate_id,
    version: 0,
    nickname: '',
    bio: null,
    avatar_url: null,
    identity_verified: false,
    visible: true,
    joined_at: event.occurred_at,
    positions: {},
  };
  // Documents written before fields had positions took the last event's position as version.
  const positions = current && !current.positions ? Object.fromEntries(FIELDS.map((f) => [f, current.version])) : { ...base.positions };
  const next: UserProfileDoc = { ...base, positions };
  let changed = false;
  const set = (field: Field, value: unknown) => {
    if (value === undefined || (positions[field] ?? 0) >= event.position) return;
    (next as unknown as Record<string, unknown>)[field] = value;
    positions[field] = event.position;
    changed = true;
  };
  switch (event.type) {
    case 'user.registered':
      set('nickname', String(p.nickname ?? ''));
      set('joined_at', String(p.joined_at ?? event.occurred_at));
      break;
    case 'user.profile_updated':
      set('nickname', p.nickname);
      set('bio', p.bio ?? null);
      set('avatar_url', p.avatar_url ?? null);
      break;
    case 'user.verified':
      set('identity_verified', true);
      break;
    case 'user.suspended':
      set('visible', false);
      break;
    case 'user.reinstated':
      set('visible', true);
      break;
  }
  if (!changed) return null;
  next.version = (current?.version ?? 0) + 1;
  return next;
}

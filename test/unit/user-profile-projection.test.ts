import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/platform/events/event';
import { userProfileProjection, type UserProfileDoc } from '../../src/modules/users/user-profile.projection';
import { memoryCollection } from '../support/memory-collection';

// A user's events reach the profile out of order when one fails and is retried after a later one
// succeeded, when a dead-lettered one is re-driven, or when a replay overlaps live delivery.

const ID = 'usr_0000000000000000TEST';
let position = 500;
const event = (type: string, payload: Record<string, unknown> = {}): StoredEvent => {
  position += 1;
  return {
    id: `evt_${position}`,
    position,
    aggregate_type: 'user',
    aggregate_id: ID,
    aggregate_version: position,
    type,
    schema_version: 1,
    payload: { user_id: ID, ...payload },
    metadata: {},
    occurred_at: new Date(Date.UTC(2026, 10, 28, 0, 0, position % 60)).toISOString(),
  };
};

const history = () => [
  event('user.registered', { nickname: '망원동토끼', joined_at: '2026-11-28T00:00:00.000Z' }),
  event('user.verified'),
  event('user.suspended', { reason: '사기' }),
  event('user.profile_updated', { nickname: '망원동거북', bio: '안녕하세요', avatar_url: null }),
];
const withoutBookkeeping = ({ version: _v, positions: _p, ...doc }: UserProfileDoc) => doc;
const applyAll = async (events: StoredEvent[], order: number[]) => {
  const docs = memoryCollection<UserProfileDoc>();
  for (const i of order) await userProfileProjection.apply(events[i]!, docs);
  return docs.docs.get(ID)!;
};

describe('UserProfile projection', () => {
  it('when a suspension arrives after a later profile edit (a retried or re-driven event), then the user is still hidden', async () => {
    const events = history();
    const inOrder = withoutBookkeeping(await applyAll(events, [0, 1, 2, 3]));
    expect(inOrder).toEqual({ id: ID, nickname: '망원동거북', bio: '안녕하세요', avatar_url: null, identity_verified: true, visible: false, joined_at: '2026-11-28T00:00:00.000Z' });
    for (const order of [[0, 1, 3, 2], [3, 2, 1, 0], [2, 0, 3, 1, 2, 0]]) {
      expect(withoutBookkeeping(await applyAll(events, order)), `order ${order.join(',')}`).toEqual(inOrder);
    }
  });

  it('when a reinstatement is older than the suspension that followed it, then it does not show the user again', async () => {
    const [registered] = history();
    const reinstated = event('user.reinstated', { reason: 'appeal' });
    const suspended = event('user.suspended', { reason: '재발' });
    expect((await applyAll([registered!, reinstated, suspended], [0, 2, 1])).visible).toBe(false);
  });

  it('when a document from before per-field positions meets an event older than it, then the event changes nothing', async () => {
    const docs = memoryCollection<UserProfileDoc>();
    const legacy = { id: ID, version: position + 10, nickname: '옛이름', bio: null, avatar_url: null, identity_verified: false, visible: false, joined_at: '2026-01-01T00:00:00.000Z' };
    docs.docs.set(ID, legacy as unknown as UserProfileDoc);
    await userProfileProjection.apply(event('user.reinstated'), docs);
    expect(docs.docs.get(ID)).toBe(legacy as unknown);
    position += 20;
    await userProfileProjection.apply(event('user.reinstated'), docs);
    expect(docs.docs.get(ID)).toMatchObject({ visible: true, nickname: '옛이름', version: legacy.version + 1 });
  });

  it('when two events of one user are applied at the same moment, then both count', async () => {
    const [registered] = history();
    const seed = memoryCollection<UserProfileDoc>();
    await userProfileProjection.apply(registered!, seed);
    let reads = 0;
    let release: () => void = () => undefined;
    const first = new Promise<void>((go) => (release = go));
    const racing = memoryCollection<UserProfileDoc>(async () => {
      reads += 1;
      if (reads === 1) await first;
      else if (reads === 2) release();
    });
    racing.docs.set(ID, seed.docs.get(ID)!);
    await Promise.all([userProfileProjection.apply(event('user.verified'), racing), userProfileProjection.apply(event('user.suspended'), racing)]);
    expect(reads).toBe(3);
    expect(racing.docs.get(ID)).toMatchObject({ identity_verified: true, visible: false, nickname: '망원동토끼' });
  });
});

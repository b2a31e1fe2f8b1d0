import type { Sequelize } from 'sequelize';
import { lazyCollection, type Collection, type CollectionSpec, type Doc, type DocumentStore } from '../documents/document-store';
import type { StoredEvent } from './event';
import { settledHeadPosition, readEvents } from './event-store';
import type { Subscription } from './subscriber';

/**
 * A read model kept from events. `apply` must be idempotent and order-safe, which it is when
 * every document it writes carries the event's position as `version` (the store then ignores
 * older writes). Then live delivery and replay can overlap without harm.
 */
export interface Projection<T extends Doc = Doc> {
  /** Stable: it names the subscriber queue and the replay target. */
  name: string;
  collection: CollectionSpec;
  events: string[];
  /** Types it took in an earlier release and no longer does (Subscription.retired). */
  retired?: string[];
  apply(event: StoredEvent, docs: Collection<T>): Promise<void>;
}

/** The live side: a subscription applying each delivered event to the live collection. */
export function projectionSubscription<T extends Doc>(projection: Projection<T>, store: DocumentStore): Subscription {
  const docs = lazyCollection<T>(store, projection.collection);
  return {
    name: `projection.${projection.name}`,
    events: projection.events,
    ...(projection.retired ? { retired: projection.retired } : {}),
    handle: async (event) => projection.apply(event, await docs()),
  };
}

const BATCH = 1000;

/**
 * Rebuilds a read model from the event store: every event up to the current head goes into a
 * fresh collection, which then replaces the live one in one swap; events appended meanwhile are
 * applied to the new live collection afterwards (the live subscriber may apply them too; the
 * version guard makes that harmless). Safe while events keep arriving.
 */
export async function replayProjection<T extends Doc>(
  projection: Projection<T>,
  store: DocumentStore,
  sequelize: Sequelize,
  onProgress: (done: number, total: number) => void = () => undefined,
): Promise<{ applied: number; head: number }> {
  const head = await settledHeadPosition(sequelize);
  let applied = 0;
  const applyRange = async (docs: Collection<T>, from: number, to: number) => {
    for (let after = from; ; ) {
      const events = (await readEvents(sequelize, after, BATCH, projection.events)).filter((e) => e.position <= to);
      if (events.length === 0) return;
      for (const event of events) await projection.apply(event, docs);
      applied += events.length;
      after = events.at(-1)!.position;
      onProgress(after, to);
    }
  };
  await store.rebuild<T>(projection.collection, (shadow) => applyRange(shadow, 0, head));
  await applyRange(await store.collection<T>(projection.collection), head, Number.MAX_SAFE_INTEGER);
  return { applied, head };
}

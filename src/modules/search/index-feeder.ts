import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { StoredEvent } from '../../platform/events/event';
import { settledHeadPosition, readAggregateEvents, readEvents } from '../../platform/events/event-store';
import type { Subscription } from '../../platform/events/subscriber';
import type { ListingCondition, ListingStatus, SearchDocument, SearchIndex, SearchIndexWriter, TradeMethod, WriteOptions } from '../../platform/search';

/**
 * API processes LISTEN here and drop the cached feeds the change can touch; sent in the feeder's
 * transaction, so only once it commits. The payload is an IndexChange as JSON; anything else
 * (empty after a rebuild) means that any listing may have changed.
 */
export const SEARCH_INDEX_CHANGED_CHANNEL = 'search_index_changed';

/** A listing the index changed, and where it was and is: categories (paths) and dongs (codes). */
export interface IndexChange {
  id: string;
  categories: string[];
  dongs: string[];
}

/** The change a notification tells of, or null when it tells of no one listing (then any may have changed). */
export function parseIndexChange(payload: string | undefined): IndexChange | null {
  try {
    const v = JSON.parse(payload ?? '') as Partial<IndexChange> | null;
    const strings = (a: unknown): a is string[] => Array.isArray(a) && a.every((x) => typeof x === 'string');
    return v && typeof v.id === 'string' && strings(v.categories) && strings(v.dongs) ? { id: v.id, categories: v.categories, dongs: v.dongs } : null;
  } catch {
    return null;
  }
}

/**
 * Changes that only move a count do not drop the cached feeds: likes are the commonest write of a
 * marketplace, and each one used to empty every cached feed in the country. Lists show a like
 * count (and order `sort=popular`) at most the feed cache's TTL late; the listing's detail, cached
 * per listing, shows it at once. Every other change still shows on the next read. Told by what
 * changed, not by the event's type: a like that arrives late repairs the document and may bring
 * an edit with it (see createIndexFeeder).
 */
const COUNTS = ['likeCount', 'chatCount', 'version'] as const;

/** A change of the index, and whether it moved only counts. */
export interface FedChange extends IndexChange {
  countsOnly: boolean;
}

export const SEARCH_FEEDER_EVENTS = [
  'product.created',
  'product.updated',
  'product.status_changed',
  'product.bumped',
  'product.deleted',
  'product.reviewed',
  'product.images_changed',
  'product.liked',
  'product.unliked',
];

type Payload = Record<string, unknown>;

const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);
const num = (v: unknown, fallback = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);

/** The fields a created/updated event's snapshot sets (counts, images and tombstone are kept). */
function snapshotFields(p: Payload, dongName: string) {
  return {
    sellerId: str(p.seller_id),
    title: str(p.title),
    description: str(p.description),
    categoryId: str(p.category_id),
    categoryPath: str(p.category_path),
    price: num(p.price),
    condition: str(p.condition, 'used') as ListingCondition,
    tradeMethods: (Array.isArray(p.trade_methods) ? p.trade_methods : []) as TradeMethod[],
    shippingFee: num(p.shipping_fee),
    dongCode: str(p.dong_code),
    dongName,
    lat: num(p.lat),
    lng: num(p.lng),
    status: str(p.status, 'on_sale') as ListingStatus,
    // Snapshots may carry the moderation verdict; a listing flagged for review leaves search until cleared.
    ...(p.moderation === 'ok' || p.moderation === 'flagged' ? { moderation: p.moderation as SearchDocument['moderation'] } : {}),
    bumpedAt: str(p.bumped_at),
    createdAt: str(p.created_at),
  };
}

function thumbnailOf(images: unknown): string | null {
  if (!Array.isArray(images)) return null;
  const first = [...(images as { position?: number; thumbnail_url?: unknown; url?: unknown }[])].sort((a, b) => num(a.position) - num(b.position))[0];
  return first ? str(first.thumbnail_url, str(first.url)) || null : null;
}

/** One listing's document in memory, under the index's version rules: what a repair folds the listing's events into. */
function memoryWriter(): SearchIndexWriter & { doc: SearchDocument | null } {
  const writer = {
    doc: null as SearchDocument | null,
    get: async () => writer.doc,
    index: async (doc: SearchDocument) => (writer.doc && writer.doc.version >= doc.version ? false : ((writer.doc = doc), true)),
    restore: async (doc: SearchDocument) => (writer.doc && writer.doc.version > doc.version ? false : ((writer.doc = doc), true)),
    update: async (_id: string, version: number, change: (d: SearchDocument) => SearchDocument | null) => {
      if (!writer.doc || writer.doc.version >= version) return false;
      const next = change(writer.doc);
      return next ? ((writer.doc = { ...next, version }), true) : false;
    },
    remove: async (id: string, version: number) => writer.update(id, version, (d) => ({ ...d, deleted: true })),
  };
  return writer;
}

/** Field by field, as the index gives documents back (a category path without its trailing slash, dates as ISO strings), but for `ignoring`. */
const sameDocument = (a: SearchDocument, b: SearchDocument, ignoring: readonly string[] = []): boolean => {
  const canonical = (d: SearchDocument) =>
    JSON.stringify(
      Object.keys(d)
        .filter((k) => !ignoring.includes(k))
        .sort()
        .map((k) => [k, k === 'categoryPath' ? d.categoryPath.replace(/\/$/, '') : d[k as keyof SearchDocument]]),
    );
  return canonical(a) === canonical(b);
};

const changeOf = (id: string, before: SearchDocument | null | undefined, after: SearchDocument): FedChange => {
  const places = before ? [before, after] : [after];
  return {
    id,
    categories: [...new Set(places.map((d) => d.categoryPath))],
    dongs: [...new Set(places.map((d) => d.dongCode))],
    countsOnly: before !== null && before !== undefined && sameDocument(before, after, COUNTS),
  };
};

/**
 * Applies one product event to the index. Each document carries the position of the last event
 * applied as its version, so a redelivered or replayed event changes nothing. Returns the change
 * (where the listing was and is), or null when there is nothing to announce: the index did not
 * change, and (unless `unannounced`) already held the event.
 *
 * Events of one listing normally arrive in order. When one does not (a batch whose first event
 * failed is retried one by one, and the later events of the listing go through first; a
 * dead-lettered event replayed later), the version rule alone would drop it: an edit lost behind a
 * like, or a listing hidden before it was indexed and then indexed as on sale. So an event that
 * finds its listing's document already at or past it, or finds none where it needs one, repairs
 * the document instead: all the listing's events are folded in order and the result replaces the
 * stored document. A redelivery the document already holds folds to the same document.
 */
export function createIndexFeeder(sequelize: Sequelize) {
  // Dong names are reference data (the dongs table); events carry only the code. Read in the
  // batch's transaction, which holds rows already written: waiting for a second pooled
  // connection while holding them could wait on work queued behind them.
  const dongNames = new Map<string, string>();
  const dongName = async (code: string, transaction: WriteOptions['transaction']): Promise<string> => {
    let name = dongNames.get(code);
    if (name === undefined) {
      const [row] = await sequelize.query<{ name: string }>('SELECT name FROM dongs WHERE code = $1', { bind: [code], type: QueryTypes.SELECT, ...(transaction ? { transaction } : {}) });
      name = row?.name ?? '';
      if (dongNames.size > 10_000) dongNames.clear();
      dongNames.set(code, name);
    }
    return name;
  };

  /** The listing's document rebuilt from all its events, written over the stored one; the change, or null. */
  const repair = async (handled: StoredEvent, id: string, index: SearchIndexWriter, opts: WriteOptions, unannounced: boolean): Promise<FedChange | null> => {
    const memory = memoryWriter();
    let beforeHandled: SearchDocument | null = null;
    for (const event of await readAggregateEvents(sequelize, { type: 'product', id }, SEARCH_FEEDER_EVENTS, opts.transaction)) {
      if (event.position === handled.position) beforeHandled = memory.doc;
      await applyTo(event, memory, {}, false, false);
    }
    if (!memory.doc) return null;
    const before = await index.get(id, opts);
    if (before && sameDocument(before, memory.doc)) {
      // Nothing to write. An event told again (a replay) has nothing to announce either; but one
      // never announced may have been written by an attempt whose announcement rolled back: an
      // Elasticsearch write is not part of the inbox transaction, so a failed batch leaves its
      // writes and loses its NOTIFY. Its places (before this event, and now) are told again.
      return unannounced ? changeOf(id, beforeHandled, memory.doc) : null;
    }
    return (await index.restore(memory.doc, opts)) ? changeOf(id, before, memory.doc) : null;
  };

  async function applyTo(event: StoredEvent, index: SearchIndexWriter, opts: WriteOptions, repairs: boolean, unannounced: boolean): Promise<FedChange | null> {
    const p = event.payload as Payload;
    const id = str(p.product_id, event.aggregate_id);
    const version = event.position;
    // Where the listing was and is, as the writes see it (an Elasticsearch write may retry: the
    // last attempt is the one written). `declined`: the event, applied to the document as it was
    // when last looked at, changes nothing (the change returned null).
    const seen: { before?: SearchDocument; after?: SearchDocument; declined?: boolean } = {};
    const update = (change: (d: SearchDocument) => SearchDocument | null) =>
      index.update(
        id,
        version,
        (d) => {
          seen.before = d;
          seen.after = change(d) ?? undefined;
          seen.declined = !seen.after;
          return seen.after ?? null;
        },
        opts,
      );
    const write = async (): Promise<boolean> => {
      switch (event.type) {
        case 'product.created':
        case 'product.updated': {
          const fields = snapshotFields(p, await dongName(str(p.dong_code), opts.transaction));
          const current = await index.get(id, opts);
          if (current) return update((d) => ({ ...d, ...fields }));
          seen.after = {
            id,
            version,
            moderation: 'ok',
            deleted: false,
            likeCount: 0,
            chatCount: 0,
            thumbnailUrl: null,
            ...fields,
            bumpedAt: fields.bumpedAt || event.occurred_at,
            createdAt: fields.createdAt || event.occurred_at,
          };
          return index.index(seen.after, opts);
        }
        case 'product.status_changed':
          return update((d) => ({ ...d, status: str(p.status, d.status) as ListingStatus }));
        case 'product.bumped':
          return update((d) => ({ ...d, bumpedAt: str(p.bumped_at, d.bumpedAt), price: num(p.price, d.price) }));
        case 'product.deleted':
          // The tombstone `remove` writes, written here as the update it is, to see where the listing was.
          return update((d) => ({ ...d, deleted: true }));
        case 'product.reviewed':
          // A moderator's verdict: an approved listing joins search (a removal comes as product.deleted).
          return update((d) => (p.moderation === 'ok' || p.moderation === 'flagged' ? { ...d, moderation: p.moderation as SearchDocument['moderation'] } : null));
        case 'product.images_changed':
          return update((d) => ({ ...d, thumbnailUrl: thumbnailOf(p.images) }));
        case 'product.liked':
        case 'product.unliked': {
          // The engagement component sends the count after the change; counting ±1 is the fallback.
          const step = event.type === 'product.liked' ? 1 : -1;
          return update((d) => ({ ...d, likeCount: typeof p.like_count === 'number' ? p.like_count : Math.max(0, d.likeCount + step) }));
        }
        default:
          seen.declined = true;
          return false;
      }
    };
    const written = await write();
    // Not written and not declined: the document was missing, or at or past this event when the
    // write looked. That includes a change computed but then refused: Elasticsearch's
    // compare-and-set calls the change, loses the race (409), reads again and finds a newer
    // event there, so this event's effect is in no write yet.
    if (!written && !seen.declined && repairs) return repair(event, id, index, opts, unannounced);
    return written && seen.after ? changeOf(id, seen.before, seen.after) : null;
  }

  return (event: StoredEvent, index: SearchIndexWriter, opts: WriteOptions = {}, { unannounced = false }: FeedOptions = {}): Promise<FedChange | null> =>
    applyTo(event, index, opts, true, unannounced);
}

export interface FeedOptions {
  /**
   * The event's change has not been announced yet, even if the index already holds it: true in
   * the live feeder, whose subscriber runs the handler only for an event its inbox had not
   * claimed (a claim commits with the announcement). A rebuild leaves it false.
   */
  unannounced?: boolean;
}
export type IndexFeeder = ReturnType<typeof createIndexFeeder>;

/**
 * The live feeder, in the worker. With PostgreSQL the index write joins the inbox claim's
 * transaction (effect-once); with Elasticsearch the versioned write makes a redelivery harmless.
 */
export function searchIndexSubscription(deps: { sequelize: Sequelize; index: SearchIndex }): Subscription {
  const apply = createIndexFeeder(deps.sequelize);
  return {
    name: 'search.index-feeder',
    events: SEARCH_FEEDER_EVENTS,
    handle: async (event, { transaction, log }) => {
      const change = await apply(event, deps.index, { transaction }, { unannounced: true });
      if (!change || change.countsOnly) return;
      const told: IndexChange = { id: change.id, categories: change.categories, dongs: change.dongs };
      const notify = (t?: Transaction) => deps.sequelize.query(`SELECT pg_notify('${SEARCH_INDEX_CHANGED_CHANNEL}', $1)`, { bind: [JSON.stringify(told)], transaction: t });
      await notify(transaction);
      // Elasticsearch shows a write in searches only at its next refresh, so a page read between
      // this announcement and then would be cached without the change: once committed, the change
      // is told again when it shows. Not awaited here: waiting for a refresh on each change would
      // hold every change up to a refresh interval, one after another.
      const { index } = deps;
      if (index.whenVisible) {
        transaction.afterCommit(() => {
          void index
            .whenVisible!()
            .then(() => notify())
            .catch((err: unknown) => log.warn({ err, product_id: told.id }, 'search index change not told again once visible; cached feeds keep it until their TTL'));
        });
      }
    },
  };
}

const BATCH = 1000;

/**
 * Rebuilds the search index from the event store: every product event up to the current head
 * goes into a fresh index that then replaces the live one in one swap; events appended
 * meanwhile are applied to the new live index afterwards (the live feeder may apply them too;
 * the version guard makes that harmless). Safe while events keep arriving.
 */
export async function rebuildSearchIndex(
  index: SearchIndex,
  sequelize: Sequelize,
  onProgress: (done: number, total: number) => void = () => undefined,
): Promise<{ applied: number; head: number }> {
  const apply = createIndexFeeder(sequelize);
  const head = await settledHeadPosition(sequelize);
  let applied = 0;
  const applyRange = async (target: SearchIndexWriter, from: number, to: number) => {
    for (let after = from; ; ) {
      const events = (await readEvents(sequelize, after, BATCH, SEARCH_FEEDER_EVENTS)).filter((e) => e.position <= to);
      if (events.length === 0) return;
      // One transaction per batch: a thousand small commits would dominate a replay.
      await sequelize.transaction(async (transaction) => {
        for (const event of events) await apply(event, target, { transaction });
      });
      applied += events.length;
      after = events.at(-1)!.position;
      onProgress(after, to);
    }
  };
  await index.rebuild((shadow) => applyRange(shadow, 0, head));
  await applyRange(index, head, Number.MAX_SAFE_INTEGER);
  // The catch-up's writes must show before the caches are dropped, or pages read meanwhile keep
  // the old index's view. The rebuild itself is done: a barrier that fails still drops them.
  await index.whenVisible?.().catch(() => undefined);
  await sequelize.query(`SELECT pg_notify('${SEARCH_INDEX_CHANGED_CHANNEL}', '')`);
  return { applied, head };
}

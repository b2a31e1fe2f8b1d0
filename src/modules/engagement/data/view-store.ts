import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';

// Views live in Redis until the flush job moves them to PostgreSQL in one batch:
//   seen:<day>:<product>  set of viewer keys that day (the per-viewer-per-day de-duplication)
//   seen:<day>:<product>:addr:<hash>  the anonymous viewer keys of one address (capped)
//   pending               hash product → views counted since the last flush
//   coviews               set of "user product" pairs (signed-in viewers, for recommendations)
//   batch:<id>, batch:<id>:coviews, batches   claimed batches, until applied and dropped
// All under one hash tag, so the scripts' keys share a cluster slot.

// An anonymous viewer (ARGV[5] set) is one of at most ARGV[5] per address, listing and day
// (KEYS[4], the address's viewers): changing the user agent on every request must not count a
// new view each time, while a household or an office behind one address still counts a few.
const RECORD = `
if ARGV[5] ~= '' then
  if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end
  if redis.call('SCARD', KEYS[4]) >= tonumber(ARGV[5]) then return 0 end
  redis.call('SADD', KEYS[4], ARGV[1])
  redis.call('EXPIRE', KEYS[4], ARGV[3])
end
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
if ARGV[4] ~= '' then redis.call('SADD', KEYS[3], ARGV[4]) end
return 1`;

// Moves what is pending into a new batch, atomically against recordings: a view lands either in
// this batch or in the next one, never in both and never in none.
const CLAIM = `
local claimed = 0
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('RENAME', KEYS[1], KEYS[3]); claimed = 1 end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('RENAME', KEYS[2], KEYS[4]); claimed = 1 end
if claimed == 1 then redis.call('SADD', KEYS[5], ARGV[1]) end
return claimed`;

/** Anonymous viewers counted per address, listing and day. */
export const ANONYMOUS_VIEWERS_PER_ADDRESS = 3;

/** The seen-sets outlive their day a little, for clock skew between API processes. */
const SEEN_TTL_SECONDS = 36 * 3600;

export interface ViewBatch {
  id: string;
  /** product id → views */
  counts: Map<string, number>;
  /** signed-in viewer → products viewed */
  coviews: { userId: string; productId: string }[];
}

export function createViewStore(redis: Redis, namespace: string) {
  const tag = `{${namespace}:engagement:views}`;
  const key = {
    seen: (day: string, productId: string) => `${tag}:seen:${day}:${productId}`,
    address: (day: string, productId: string, address: string) => `${tag}:seen:${day}:${productId}:addr:${address}`,
    pending: `${tag}:pending`,
    coviews: `${tag}:coviews`,
    batch: (id: string) => `${tag}:batch:${id}`,
    batchCoviews: (id: string) => `${tag}:batch:${id}:coviews`,
    batches: `${tag}:batches`,
  };

  return {
    /**
     * Counts a view unless this viewer was already counted for the product that day (or, for an
     * anonymous viewer, its address has had its share of viewers); true when counted.
     */
    async record(day: string, productId: string, viewer: { key: string; userId?: string; address?: string }): Promise<boolean> {
      const anonymous = viewer.userId === undefined && viewer.address !== undefined;
      const addressKey = anonymous ? key.address(day, productId, viewer.address!) : key.seen(day, productId);
      const counted = await redis.eval(
        RECORD,
        4,
        key.seen(day, productId),
        key.pending,
        key.coviews,
        addressKey,
        viewer.key,
        productId,
        SEEN_TTL_SECONDS,
        viewer.userId ? `${viewer.userId} ${productId}` : '',
        anonymous ? ANONYMOUS_VIEWERS_PER_ADDRESS : '',
      );
      return counted === 1;
    },

    /** Claims what is pending as a new batch (null when nothing is). */
    async claim(): Promise<string | null> {
      const id = randomUUID();
      const claimed = await redis.eval(CLAIM, 5, key.pending, key.coviews, key.batch(id), key.batchCoviews(id), key.batches, id);
      return claimed === 1 ? id : null;
    },

    /** Every claimed batch not yet dropped: this run's and any left by a run that died. */
    async batches(): Promise<string[]> {
      return redis.smembers(key.batches);
    },

    async read(id: string): Promise<ViewBatch> {
      const [counts, pairs] = await Promise.all([redis.hgetall(key.batch(id)), redis.smembers(key.batchCoviews(id))]);
      return {
        id,
        counts: new Map(Object.entries(counts).map(([productId, n]) => [productId, Number(n)])),
        coviews: pairs.flatMap((p) => {
          const [userId, productId] = p.split(' ');
          return userId && productId ? [{ userId, productId }] : [];
        }),
      };
    },

    /** Forgets an applied batch. */
    async drop(id: string): Promise<void> {
      await redis.multi().del(key.batch(id), key.batchCoviews(id)).srem(key.batches, id).exec();
    },
  };
}
export type ViewStore = ReturnType<typeof createViewStore>;

import type Redis from 'ioredis';
import type { Logger } from '../../../platform/logger';
import type { ProductView } from '../domain/product';

// Stores the loaded detail only if nobody invalidated since the load began: a slow read of the
// old row must not overwrite the invalidation that followed an edit with stale data.
const STORE_IF_GENERATION = `
if (redis.call('HGET', KEYS[1], 'gen') or '0') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'doc', ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0`;

const DATES = ['bumpedAt', 'createdAt', 'updatedAt', 'deletedAt'] as const;

/** `{cache:...}` like every cache key, so `migrate` drops them with the others. */
export const productCacheKey = (id: string) => `{cache:product:${id}}`;

/**
 * Cache-aside of a listing's detail in Redis, one hash per listing (`doc` + an invalidation
 * generation). No in-process copy: several API processes serve reads, and an edit must show on
 * the very next read wherever it lands. Redis failures are misses, never errors.
 */
export class ProductDetailCache {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
    private readonly log: Logger,
  ) {}

  async get(id: string, load: (id: string) => Promise<ProductView | null>, log: Logger = this.log): Promise<ProductView | null> {
    const key = productCacheKey(id);
    let cached: [string | null, string | null] | null = null;
    try {
      cached = (await this.redis.hmget(key, 'doc', 'gen')) as [string | null, string | null];
    } catch (err) {
      log.warn({ err, key }, 'product cache read failed; loading from the database');
    }
    if (cached?.[0]) return revive(cached[0]);
    const view = await load(id);
    // Unknown ids are not cached: they cost one indexed miss, and caching them would let anyone fill Redis.
    if (view && cached) {
      await this.redis
        .eval(STORE_IF_GENERATION, 1, key, cached[1] ?? '0', JSON.stringify(view), this.ttlSeconds)
        .catch((err: unknown) => log.warn({ err, key }, 'product cache write failed'));
    }
    return view;
  }

  /**
   * Drops the cached detail; loads that began before will not store theirs. When the generation
   * cannot be moved (a Redis at its memory limit under `noeviction` refuses HINCRBY, which
   * discards the whole transaction, HDEL included), the entry is deleted outright: DEL is never
   * refused for memory, and a stale detail served for its whole TTL (a hidden or deleted listing
   * shown as on sale) is worse than the narrow race a lost generation reopens. Never throws: when
   * neither works, the entry may be served until its TTL, which is logged.
   */
  async invalidate(id: string): Promise<void> {
    const key = productCacheKey(id);
    try {
      const results = await this.redis.multi().hincrby(key, 'gen', 1).hdel(key, 'doc').expire(key, Math.max(this.ttlSeconds, 3600)).exec();
      const failed = results?.find(([err]) => err)?.[0];
      if (!results || failed) throw failed ?? new Error('the transaction was discarded');
      return;
    } catch (err) {
      this.log.warn({ err, key }, 'product cache invalidation failed; deleting the entry');
    }
    try {
      await this.redis.del(key);
    } catch (err) {
      this.log.error({ err, key }, 'product cache entry not dropped: it may be served stale until its TTL');
    }
  }
}

function revive(json: string): ProductView {
  const view = JSON.parse(json) as ProductView & Record<string, unknown>;
  for (const field of DATES) if (typeof view[field] === 'string') (view as Record<string, unknown>)[field] = new Date(view[field] as string);
  return view;
}

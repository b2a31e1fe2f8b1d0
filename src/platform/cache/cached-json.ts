import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import type { Logger } from '../logger';
import { toJsonBytes, type JsonBytes } from '../http/json-bytes';

export interface CachedEntry<T> {
  etag: string;
  json: JsonBytes<T>;
}

// Stores a variant only if nobody invalidated since its load began, so a slow load that read
// old rows cannot overwrite a newer invalidation with stale bytes.
const STORE_IF_GENERATION = `
if (redis.call('GET', KEYS[2]) or '0') == ARGV[1] then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  return 1
end
return 0`;

/** A strong ETag from the bytes themselves. */
export const etagOf = (bytes: Buffer): string => `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;

/**
 * Cache-aside of a JSON document (in a few variants, e.g. per query) in one Redis hash, kept as
 * serialised bytes with their ETag, with a short-lived copy in process memory in front of it:
 * on a hot read, a Redis round trip costs more than everything else the request does
 * (docs/performance.md). Every process's `invalidate` runs on change (see the component's
 * NOTIFY listener), so the memory copy lives at most `memoryTtlMs` past a lost notification.
 * Concurrent misses in a process share one load; a Redis failure is a miss, never an error.
 */
export class CachedJson<T, V extends string = string> {
  private readonly inflight = new Map<V, Promise<CachedEntry<T>>>();
  private readonly memory = new Map<V, { entry: CachedEntry<T>; until: number }>();
  private localGeneration = 0;
  private readonly generationKey: string;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly ttlSeconds: number,
    private readonly load: (variant: V) => Promise<T>,
    private readonly log: Logger,
    private readonly memoryTtlMs = 5000,
    /** Variants kept in process memory at most (the oldest goes first): some caches have many. */
    private readonly memoryEntries = 1000,
  ) {
    // Same hash tag, same cluster slot: the store script touches both keys.
    this.key = `{${key}}`;
    this.generationKey = `{${key}}:generation`;
  }

  /** `log` is the caller's (request-scoped) logger, for the warnings a Redis failure causes. */
  async get(variant: V, log: Logger = this.log): Promise<CachedEntry<T>> {
    const local = this.memory.get(variant);
    if (local && local.until > Date.now()) return local.entry;
    let pending = this.inflight.get(variant);
    if (!pending) {
      pending = this.fromRedisOrLoad(variant, log).finally(() => this.inflight.delete(variant));
      this.inflight.set(variant, pending);
    }
    return pending;
  }

  /** Drops every cached variant; loads that began before this call will not store their result. */
  async invalidate(): Promise<void> {
    this.localGeneration++;
    this.memory.clear();
    try {
      await this.redis.multi().incr(this.generationKey).del(this.key).exec();
    } catch (err) {
      this.log.warn({ err, key: this.key }, 'cache invalidation failed');
    }
  }

  private async fromRedisOrLoad(variant: V, log: Logger): Promise<CachedEntry<T>> {
    const localGeneration = this.localGeneration;
    let entry: CachedEntry<T> | null = null;
    try {
      const hit = await this.redis.hgetBuffer(this.key, variant);
      if (hit) {
        const newline = hit.indexOf(10);
        entry = { etag: hit.subarray(0, newline).toString('latin1'), json: hit.subarray(newline + 1) as JsonBytes<T> };
      }
    } catch (err) {
      log.warn({ err, key: this.key }, 'cache read failed; loading from the database');
    }
    entry ??= await this.fill(variant, log);
    if (localGeneration === this.localGeneration) {
      this.memory.delete(variant);
      this.memory.set(variant, { entry, until: Date.now() + this.memoryTtlMs });
      // A Map iterates in insertion order: its first key is the entry stored longest ago.
      if (this.memory.size > this.memoryEntries) this.memory.delete(this.memory.keys().next().value!);
    }
    return entry;
  }

  private async fill(variant: V, log: Logger): Promise<CachedEntry<T>> {
    // null when Redis is unreachable: then serve the fresh load without storing it.
    const generation = await this.redis.get(this.generationKey).then((g) => g ?? '0', () => null);
    const json = toJsonBytes(await this.load(variant));
    const etag = etagOf(json);
    if (generation !== null) {
      const value = Buffer.concat([Buffer.from(`${etag}\n`, 'latin1'), json]);
      await this.redis
        .eval(STORE_IF_GENERATION, 2, this.key, this.generationKey, generation, variant, value, this.ttlSeconds)
        .catch((err: unknown) => log.warn({ err, key: this.key }, 'cache write failed'));
    }
    return { etag, json };
  }
}

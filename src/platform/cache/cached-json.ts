import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import type { Logger } from '../logger';
import { toJsonBytes, type JsonBytes } from '../http/json-bytes';

export interface CachedEntry<T> {
  etag: string;
  json: JsonBytes<T>;
}

// Stores a variant only if nobody invalidated it since its load began (neither everything nor its
// scope), so a slow load that read old rows cannot overwrite a newer invalidation with stale
// bytes; and only while its hash holds fewer than ARGV[6] variants (a known one is replaced), so
// that requests inventing new variants cannot grow a scope without bound.
// The entry is stamped with Redis's clock (ms), one clock for every writer; the stamp is returned
// (0 when nothing was stored), so each process also learns how far its own clock is from Redis's.
// KEYS[4] holds each variant's stamp (a sorted set): at the cap, the variants past their TTL
// (misses for every reader) are dropped first, so that a scope that rarely changes is not kept
// full by queries invented once and never read again.
const STORE_IF_GENERATION = `
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] or (redis.call('GET', KEYS[3]) or '0') ~= ARGV[2] then
  return 0
end
local now = redis.call('TIME')
local ms = now[1] * 1000 + math.floor(now[2] / 1000)
if redis.call('HEXISTS', KEYS[1], ARGV[3]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[6]) then
  local expired = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. string.format('%.0f', ms - tonumber(ARGV[5]) * 1000))
  for i = 1, #expired, 100 do
    local some = {unpack(expired, i, math.min(i + 99, #expired))}
    redis.call('HDEL', KEYS[1], unpack(some))
    redis.call('ZREM', KEYS[4], unpack(some))
  end
  if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[6]) then return 0 end
end
local stamp = string.format('%.0f', ms)
redis.call('HSET', KEYS[1], ARGV[3], stamp .. ' ' .. ARGV[4])
redis.call('ZADD', KEYS[4], stamp, ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[4], ARGV[5])
return stamp`;

// Drops the scopes that hold or are loading something (registered when their load began) and
// bumps their generations; a change names many scopes (a neighbourhood's dongs at every range)
// and most hold nothing. KEYS: the registry, then each scope's generation, hash and stamps;
// ARGV: the generation's lifetime, then the scopes.
const INVALIDATE_REGISTERED = `
local dropped = 0
for i = 2, #ARGV do
  if redis.call('SREM', KEYS[1], ARGV[i]) == 1 then
    local generation, hash, stamps = KEYS[3 * i - 4], KEYS[3 * i - 3], KEYS[3 * i - 2]
    redis.call('INCR', generation)
    redis.call('EXPIRE', generation, ARGV[1])
    redis.call('DEL', hash, stamps)
    dropped = dropped + 1
  end
end
return dropped`;

// Drops everything, in one step: bumps the generation (a load that registered before cannot
// store), deletes every registered scope's hash and stamps and the unscoped ones, and empties the
// registry. One step, so no load can register between the reading of the registry and its
// emptying: such a load would read the new generation, store, and leave a page that no later drop
// finds (in separate round trips, pages escaped drops this way: docs/performance.md, run 16).
// Emptied, so the next drop deletes only what was registered since, not every scope the registry
// has seen (~400 feed scopes after a bench run). KEYS: the generation, the registry, the unscoped
// hash and stamps; ARGV: the prefix of the scopes' keys, which share the registry's hash tag (one
// slot).
const INVALIDATE_ALL = `
redis.call('INCR', KEYS[1])
local scopes = redis.call('SMEMBERS', KEYS[2])
for i = 1, #scopes, 100 do
  local keys = {}
  for j = i, math.min(i + 99, #scopes) do
    keys[#keys + 1] = ARGV[1] .. ':s:' .. scopes[j]
    keys[#keys + 1] = ARGV[1] .. ':t:' .. scopes[j]
  end
  redis.call('DEL', unpack(keys))
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
return #scopes`;

/** The scope of the variants that are not in one (and of caches that do not use scopes). */
const NO_SCOPE = '';

/** A strong ETag from the bytes themselves. */
export const etagOf = (bytes: Buffer): string => `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;

/**
 * Cache-aside of a JSON document (in a few variants, e.g. per query) in Redis hashes, kept as
 * serialised bytes with their ETag, with a short-lived copy in process memory in front of it:
 * on a hot read, a Redis round trip costs more than everything else the request does
 * (docs/performance.md). Every process's `invalidate` runs on change (see the component's
 * NOTIFY listener), so the memory copy lives at most `memoryTtlMs` past a lost notification.
 * Concurrent misses in a process share one load; a Redis failure is a miss, never an error.
 *
 * A variant may belong to a scope (one hash per scope) so that a change drops only the scopes
 * it can affect (`invalidate(scopes)`); `invalidate()` drops every scope.
 */
export class CachedJson<T, V extends string = string> {
  private readonly inflight = new Map<V, { scope: string; promise: Promise<CachedEntry<T>> }>();
  private readonly memory = new Map<V, { entry: CachedEntry<T>; scope: string; until: number }>();
  private localGeneration = 0;
  /** Redis's clock minus this process's (ms), as last seen by a store: entries' ages are Redis's. */
  private redisClockOffsetMs = 0;
  private readonly localScopeGenerations = new Map<string, number>();
  private readonly generationKey: string;
  private readonly scopesKey: string;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly ttlSeconds: number,
    private readonly load: (variant: V) => Promise<T>,
    private readonly log: Logger,
    private readonly memoryTtlMs = 5000,
    /** Variants kept in process memory at most (the oldest goes first): some caches have many. */
    private readonly memoryEntries = 1000,
    /** Variants kept in Redis per scope at most; past it, new ones are served uncached until the scope is dropped. */
    private readonly variantsPerScope = 500,
  ) {
    // Same hash tag, same cluster slot: the scripts touch several of these keys.
    this.key = `{${key}}`;
    this.generationKey = `{${key}}:generation`;
    this.scopesKey = `{${key}}:scopes`;
  }

  /** The registry outlives every entry it lists (an entry lives the TTL from its store, after its load). */
  private get registryTtlSeconds() {
    return Math.max(this.ttlSeconds * 2, this.ttlSeconds + 3600);
  }

  private hashKey = (scope: string) => (scope === NO_SCOPE ? this.key : `${this.key}:s:${scope}`);
  private scopeGenerationKey = (scope: string) => `${this.key}:g:${scope}`;
  private stampsKey = (scope: string) => `${this.key}:t:${scope}`;

  /**
   * `scope`: the variant's, which the caller derives from the variant alone (the same variant is
   * always in the same scope). `log` is the caller's (request-scoped) logger, for the warnings a
   * Redis failure causes.
   */
  async get(variant: V, log: Logger = this.log, scope: string = NO_SCOPE): Promise<CachedEntry<T>> {
    const local = this.memory.get(variant);
    if (local && local.until > Date.now()) return local.entry;
    const shared = this.inflight.get(variant);
    if (shared) return shared.promise;
    const pending = { scope, promise: this.fromRedisOrLoad(variant, scope, log) };
    this.inflight.set(variant, pending);
    // Only its own entry: an invalidation may have let a later read start another load meanwhile.
    void pending.promise.finally(() => this.inflight.get(variant) === pending && this.inflight.delete(variant)).catch(() => undefined);
    return pending.promise;
  }

  /**
   * Drops the cached variants of these scopes, or every variant when none are named; loads that
   * began before this call will not store their result.
   */
  async invalidate(scopes?: readonly string[]): Promise<void> {
    if (!scopes) return this.invalidateAll();
    const dropped = new Set(scopes);
    if (dropped.size === 0) return;
    this.forgetLocally(dropped);
    try {
      const keys = [this.scopesKey, ...[...dropped].flatMap((scope) => [this.scopeGenerationKey(scope), this.hashKey(scope), this.stampsKey(scope)])];
      // The generation outlives the loads and entries it guards.
      await this.redis.eval(INVALIDATE_REGISTERED, keys.length, ...keys, this.registryTtlSeconds, ...dropped);
    } catch (err) {
      this.log.warn({ err, key: this.key }, 'cache invalidation failed');
    } finally {
      // A read that reached Redis before the entries were deleted must not keep them in memory.
      this.forgetLocally(dropped);
    }
  }

  private async invalidateAll(): Promise<void> {
    this.forgetLocally();
    try {
      await this.redis.eval(INVALIDATE_ALL, 4, this.generationKey, this.scopesKey, this.hashKey(NO_SCOPE), this.stampsKey(NO_SCOPE), this.key);
    } catch (err) {
      this.log.warn({ err, key: this.key }, 'cache invalidation failed');
    } finally {
      // Reads sent before the script ran could still find the old entries in Redis: whatever they
      // took into memory goes too.
      this.forgetLocally();
    }
  }

  /**
   * Drops the process's copies of these scopes (all when none are given), and makes the loads in
   * flight neither kept in memory nor shared with later reads, which start their own.
   */
  private forgetLocally(scopes?: ReadonlySet<string>): void {
    const affected = (scope: string) => !scopes || scopes.has(scope);
    if (scopes) for (const scope of scopes) this.localScopeGenerations.set(scope, (this.localScopeGenerations.get(scope) ?? 0) + 1);
    else this.localGeneration++;
    for (const [variant, local] of this.memory) if (affected(local.scope)) this.memory.delete(variant);
    for (const [variant, pending] of this.inflight) if (affected(pending.scope)) this.inflight.delete(variant);
  }

  private async fromRedisOrLoad(variant: V, scope: string, log: Logger): Promise<CachedEntry<T>> {
    const localGeneration = this.localGeneration;
    const localScopeGeneration = this.localScopeGenerations.get(scope);
    let entry: CachedEntry<T> | null = null;
    try {
      const hit = await this.redis.hgetBuffer(this.hashKey(scope), variant);
      if (hit) {
        // `<stored at, Redis ms> <etag>\n<json>`. The hash's EXPIRE is renewed by every store in
        // the scope, so each variant keeps its own age: past the TTL it is a miss, however busy
        // the scope. (A format change needs new key names: processes of the last release still
        // read and write the old ones during a rolling deploy.)
        const newline = hit.indexOf(10);
        const [storedAt, etag] = hit.subarray(0, newline).toString('latin1').split(' ');
        if (etag && Date.now() + this.redisClockOffsetMs - Number(storedAt) <= this.ttlSeconds * 1000) entry = { etag, json: hit.subarray(newline + 1) as JsonBytes<T> };
      }
    } catch (err) {
      log.warn({ err, key: this.key }, 'cache read failed; loading from the database');
    }
    entry ??= await this.fill(variant, scope, log);
    if (localGeneration === this.localGeneration && localScopeGeneration === this.localScopeGenerations.get(scope)) {
      this.memory.delete(variant);
      this.memory.set(variant, { entry, scope, until: Date.now() + this.memoryTtlMs });
      // A Map iterates in insertion order: its first key is the entry stored longest ago.
      if (this.memory.size > this.memoryEntries) this.memory.delete(this.memory.keys().next().value!);
    }
    return entry;
  }

  private async fill(variant: V, scope: string, log: Logger): Promise<CachedEntry<T>> {
    // The scope is registered before the load, so that a change from now on bumps its generation
    // and this load cannot store what it read before the change. null when Redis is unreachable:
    // then serve the fresh load without storing it.
    const generations = await this.redis
      .multi()
      .sadd(this.scopesKey, scope)
      .expire(this.scopesKey, this.registryTtlSeconds)
      .mget(this.generationKey, this.scopeGenerationKey(scope))
      .exec()
      .then(
        (replies) => {
          const [err, value] = replies?.[2] ?? [new Error('transaction aborted'), null];
          if (err) throw err;
          const [all, ofScope] = value as [string | null, string | null];
          return [all ?? '0', ofScope ?? '0'] as const;
        },
      )
      .catch(() => null);
    const json = toJsonBytes(await this.load(variant));
    const etag = etagOf(json);
    if (generations !== null) {
      const value = Buffer.concat([Buffer.from(`${etag}\n`, 'latin1'), json]);
      const stamp = await this.redis
        .eval(STORE_IF_GENERATION, 4, this.hashKey(scope), this.generationKey, this.scopeGenerationKey(scope), this.stampsKey(scope), ...generations, variant, value, this.ttlSeconds, this.variantsPerScope)
        .catch((err: unknown) => void log.warn({ err, key: this.key }, 'cache write failed'));
      // Off by half a round trip at most: nothing next to a TTL of seconds.
      if (Number(stamp) > 0) this.redisClockOffsetMs = Number(stamp) - Date.now();
    }
    return { etag, json };
  }
}

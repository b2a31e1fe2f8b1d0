import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CachedJson, etagOf } from '../../src/platform/cache/cached-json';
import { createLogger } from '../../src/platform/logger';
import { connectRedis } from '../../src/platform/redis';
import { TEST_ENV } from '../support/env';

const log = createLogger('silent', 'test');
let redis: Redis;
beforeAll(async () => {
  redis = await connectRedis(TEST_ENV.REDIS_URL);
});
afterAll(() => redis.quit());

/** A cache whose loads answer the current version; a load of version 1 waits for `release()`. */
function versionedCache(memoryTtlMs?: number) {
  const state = { version: 1 };
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const cache = new CachedJson(redis, `cache:test:${randomUUID()}`, 60, async () => {
    const seen = state.version;
    if (seen === 1) await gate;
    return { version: seen };
  }, log, memoryTtlMs);
  return { cache, release, state };
}

describe('CachedJson', () => {
  it('when many requests miss at once, then the loader runs once and all get the same bytes and ETag', async () => {
    let loads = 0;
    const cache = new CachedJson(redis, `cache:test:${randomUUID()}`, 60, async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 30));
      return { n: 1 };
    }, log);
    const results = await Promise.all(Array.from({ length: 20 }, () => cache.get('v')));
    expect(loads).toBe(1);
    expect(new Set(results.map((r) => r.etag)).size).toBe(1);
    expect(results[0]!.etag).toBe(etagOf(Buffer.from('{"n":1}')));
    const hit = await cache.get('v');
    expect(loads).toBe(1);
    expect(hit.json.toString()).toBe('{"n":1}');
  });

  it('when other variants of its scope keep being stored, then a variant still expires its own TTL after it was stored', async () => {
    const key = `cache:test:${randomUUID()}`;
    const version = { n: 1 };
    // Two processes' views of one cache; no memory copy, so every read asks Redis.
    const make = () => new CachedJson(redis, key, 1, async (v: string) => ({ v, n: version.n }), log, 0);
    const [a, b] = [make(), make()];
    expect((await a.get('old', log, 'scope')).json.toString()).toBe('{"v":"old","n":1}');
    version.n = 2;
    // Stores into the same scope (hash) renew its EXPIRE; the first variant must not live on with it.
    for (let i = 0; i < 4; i++) {
      await b.get(`new-${i}`, log, 'scope');
      await new Promise((r) => setTimeout(r, 350));
    }
    expect((await b.get('old', log, 'scope')).json.toString()).toBe('{"v":"old","n":2}');
  });

  it("when this process's clock is behind Redis's, then an entry still expires after the TTL by Redis's clock", async () => {
    const loads = new Map<string, number>();
    const cache = new CachedJson(redis, `cache:test:${randomUUID()}`, 1, async (v: string) => ({ v, n: loads.set(v, (loads.get(v) ?? 0) + 1).get(v) }), log, 0);
    // Ten minutes behind, still ticking.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() - 600_000, shouldAdvanceTime: true });
    try {
      expect((await cache.get('v')).json.toString()).toBe('{"v":"v","n":1}');
      expect((await cache.get('v')).json.toString()).toBe('{"v":"v","n":1}');
      // Another variant stored meanwhile keeps the hash itself alive past v's TTL.
      await new Promise((r) => setTimeout(r, 700));
      await cache.get('w');
      await new Promise((r) => setTimeout(r, 600));
      expect((await cache.get('v')).json.toString()).toBe('{"v":"v","n":2}');
    } finally {
      vi.useRealTimers();
    }
  });

  it('when invalidated while a load is in flight, then the stale load is served but not stored', async () => {
    const { cache, release, state } = versionedCache();
    const slow = cache.get('v');
    await new Promise((r) => setTimeout(r, 20));
    state.version = 2;
    await cache.invalidate();
    release();
    expect((await slow).json.toString()).toBe('{"version":1}');
    expect((await cache.get('v')).json.toString()).toBe('{"version":2}');
  });

  it('when more variants are read than the process keeps, then the one stored longest ago leaves memory first', async () => {
    const loads: string[] = [];
    const key = `cache:test:${randomUUID()}`;
    const cache = new CachedJson(redis, key, 60, async (v: string) => (loads.push(v), { v }), log, 60_000, 2);
    for (const v of ['a', 'b', 'c']) await cache.get(v);
    await redis.del(`{${key}}`); // only memory can answer without a load now
    await cache.get('c');
    await cache.get('b');
    expect(loads).toEqual(['a', 'b', 'c']);
    await cache.get('a');
    expect(loads).toEqual(['a', 'b', 'c', 'a']);
  });

  it('when a scope holds as many variants as it may, then a new variant is served but not stored, and a known one is still replaced', async () => {
    const key = `cache:test:${randomUUID()}`;
    const loads: string[] = [];
    // No memory copies (TTL 0), so every read goes to Redis; three variants per scope.
    const cache = new CachedJson(redis, key, 60, async (v: string) => (loads.push(v), { v }), log, 0, 1000, 3);
    for (const v of ['a', 'b', 'c', 'd']) await cache.get(v, log, 'feed');
    expect((await redis.hkeys(`{${key}}:s:feed`)).sort()).toEqual(['a', 'b', 'c']);
    expect((await cache.get('d', log, 'feed')).json.toString()).toBe('{"v":"d"}');
    expect(loads).toEqual(['a', 'b', 'c', 'd', 'd']);
    // Known variants are answered from Redis, without a load.
    await cache.get('a', log, 'feed');
    expect(loads).toHaveLength(5);
  });

  it('when a scope is full but some of its variants are past their TTL, then a new variant takes the place of those instead of being served uncached', async () => {
    const key = `cache:test:${randomUUID()}`;
    const loads: string[] = [];
    // TTL 3 s, three variants per scope, no memory copies. Timers never fire early, so `a` is
    // past its TTL when `d` comes; `b` and `c` stay within theirs unless a timer is 1.4 s late.
    const cache = new CachedJson(redis, key, 3, async (v: string) => (loads.push(v), { v }), log, 0, 1000, 3);
    await cache.get('a', log, 'feed');
    await new Promise((r) => setTimeout(r, 1_600));
    // These renew the hash's EXPIRE: it outlives `a`'s TTL, and `a` with it.
    await cache.get('b', log, 'feed');
    await cache.get('c', log, 'feed');
    await new Promise((r) => setTimeout(r, 1_600));
    await cache.get('d', log, 'feed');
    expect((await redis.hkeys(`{${key}}:s:feed`)).sort()).toEqual(['b', 'c', 'd']);
    await cache.get('d', log, 'feed');
    expect(loads).toEqual(['a', 'b', 'c', 'd']);
    // A change drops the stamps with the variants.
    await cache.invalidate(['feed']);
    expect(await redis.exists(`{${key}}:s:feed`, `{${key}}:t:feed`)).toBe(0);
  });

  it('when read again within the memory TTL, then the process copy answers without Redis; invalidate drops it', async () => {
    let loads = 0;
    const key = `cache:test:${randomUUID()}`;
    const cache = new CachedJson(redis, key, 60, async () => ({ loads: ++loads }), log, 60_000);
    await cache.get('v');
    await redis.del(`{${key}}`); // gone from Redis, still in memory
    expect((await cache.get('v')).json.toString()).toBe('{"loads":1}');
    await cache.invalidate();
    expect((await cache.get('v')).json.toString()).toBe('{"loads":2}');
  });

  it('when a scope is invalidated, then its variants are loaded again in every process and other scopes stay, in memory and in Redis', async () => {
    const key = `cache:test:${randomUUID()}`;
    const loads: string[] = [];
    const load = async (v: string) => (loads.push(v), { v, n: loads.length });
    // Two processes: `other` only reads what `one` stored, and is told of the same change.
    const one = new CachedJson(redis, key, 60, load, log, 60_000);
    const other = new CachedJson(redis, key, 60, load, log, 60_000);
    await one.get('a1', log, 'a');
    await one.get('b1', log, 'b');
    await other.get('a1', log, 'a');
    await other.get('b1', log, 'b');
    expect(loads).toEqual(['a1', 'b1']);

    await Promise.all([one.invalidate(['a', 'never-read']), other.invalidate(['a', 'never-read'])]);
    expect(await redis.hexists(`{${key}}:s:a`, 'a1')).toBe(0);
    // A scope that holds nothing and loads nothing costs Redis nothing.
    expect(await redis.exists(`{${key}}:g:never-read`)).toBe(0);
    expect(await redis.exists(`{${key}}:g:a`)).toBe(1);
    expect(await redis.hexists(`{${key}}:s:b`, 'b1')).toBe(1);
    expect((await other.get('b1', log, 'b')).json.toString()).toBe('{"v":"b1","n":2}');
    expect((await other.get('a1', log, 'a')).json.toString()).toBe('{"v":"a1","n":3}');
    expect((await one.get('a1', log, 'a')).json.toString()).toBe('{"v":"a1","n":3}');
    expect(loads).toEqual(['a1', 'b1', 'a1']);
  });

  it('when a scope is invalidated while its load is in flight, then that load is not stored; a load of another scope is', async () => {
    const key = `cache:test:${randomUUID()}`;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let version = 1;
    const cache = new CachedJson(redis, key, 60, async (v: string) => {
      const seen = version;
      await gate;
      return { v, version: seen };
    }, log, 60_000);
    const inA = cache.get('a1', log, 'a');
    const inB = cache.get('b1', log, 'b');
    await new Promise((r) => setTimeout(r, 20));
    version = 2;
    await cache.invalidate(['a']);
    release();
    expect((await inA).json.toString()).toBe('{"v":"a1","version":1}');
    expect((await inB).json.toString()).toBe('{"v":"b1","version":1}');
    expect(await redis.hexists(`{${key}}:s:a`, 'a1')).toBe(0);
    expect(await redis.hexists(`{${key}}:s:b`, 'b1')).toBe(1);
    expect((await cache.get('a1', log, 'a')).json.toString()).toBe('{"v":"a1","version":2}');
  });

  it('when everything is invalidated, then every scope is dropped from Redis, and loads in flight in any scope are not stored', async () => {
    const key = `cache:test:${randomUUID()}`;
    let loads = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const cache = new CachedJson(redis, key, 60, async (v: string) => ({ v, n: ++loads }), log, 0);
    const slow = new CachedJson(redis, key, 60, async (v: string) => (await gate, { v, slow: true }), log, 0);
    await cache.get('a1', log, 'a');
    await cache.get('b1', log, 'b');
    await cache.get('plain');
    const inFlight = slow.get('c1', log, 'c');
    await new Promise((r) => setTimeout(r, 20));
    await cache.invalidate();
    release();
    await inFlight;
    for (const hash of [`{${key}}:s:a`, `{${key}}:s:b`, `{${key}}:s:c`, `{${key}}`]) expect(await redis.exists(hash), hash).toBe(0);
    // Unregistered with them: the next drop of everything deletes only what is read from now on.
    expect(await redis.scard(`{${key}}:scopes`)).toBe(0);
    expect((await cache.get('a1', log, 'a')).json.toString()).toBe('{"v":"a1","n":4}');
    expect(await redis.smembers(`{${key}}:scopes`)).toEqual(['a']);
  });

  it('when loads register their scope just before and just after everything is invalidated, then the earlier does not store, and what the later stores is dropped by the next change of that scope', async () => {
    const key = `cache:test:${randomUUID()}`;
    const state = { version: 1 };
    // Another process's loads, each held until the test lets it finish (after registering).
    const gates: (() => void)[] = [];
    const started: (() => void)[] = [];
    const other = new CachedJson(redis, key, 60, async () => {
      const seen = state.version;
      await new Promise<void>((resolve) => {
        gates.push(resolve);
        started.shift()?.();
      });
      return { version: seen };
    }, log, 0);
    const loadStarted = () => new Promise<void>((resolve) => started.push(resolve));
    let began = loadStarted();
    const before = other.get('v', log, 's');
    await began;
    await new CachedJson(redis, key, 60, async () => ({ version: state.version }), log, 0).invalidate();
    gates.shift()!();
    await before;
    expect(await redis.hexists(`{${key}}:s:s`, 'v')).toBe(0);
    began = loadStarted();
    const after = other.get('v', log, 's');
    await began;
    gates.shift()!();
    await after;
    expect(await redis.hexists(`{${key}}:s:s`, 'v')).toBe(1);
    state.version = 2;
    await other.invalidate(['s']);
    const reader = new CachedJson(redis, key, 60, async () => ({ version: state.version }), log, 0);
    expect((await reader.get('v', log, 's')).json.toString()).toBe('{"version":2}');
  });

  it('when read while everything is being invalidated, then what that read found is not kept: the next read loads', async () => {
    let loads = 0;
    const cache = new CachedJson(redis, `cache:test:${randomUUID()}`, 60, async () => ({ loads: ++loads }), log, 60_000);
    await cache.get('v');
    const invalidation = cache.invalidate();
    // Sent between the invalidation's round trips: Redis may still hold the old bytes.
    await cache.get('v');
    await invalidation;
    expect((await cache.get('v')).json.toString()).toBe('{"loads":2}');
  });

  it('when a load is in flight and its scope is invalidated, then a later read does not share it but loads again', async () => {
    const { cache, release, state } = versionedCache(60_000);
    const early = cache.get('v', log, 's');
    await new Promise((r) => setTimeout(r, 20));
    state.version = 2;
    await cache.invalidate(['s']);
    expect((await cache.get('v', log, 's')).json.toString()).toBe('{"version":2}');
    release();
    expect((await early).json.toString()).toBe('{"version":1}');
    expect((await cache.get('v', log, 's')).json.toString()).toBe('{"version":2}');
  });

  it('when Redis is unreachable, then every get falls back to the loader instead of failing', async () => {
    const down = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    down.on('error', () => undefined);
    let loads = 0;
    const cache = new CachedJson(down, 'cache:test:down', 60, async () => ({ loads: ++loads }), log, 0);
    expect((await cache.get('v')).json.toString()).toBe('{"loads":1}');
    expect((await cache.get('v')).json.toString()).toBe('{"loads":2}');
    await cache.invalidate();
    down.disconnect();
  });
});

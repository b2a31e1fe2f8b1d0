import type Redis from 'ioredis';
import type { Logger } from '../logger';

export interface AttemptPolicy {
  /** Names the counter family in Redis, e.g. `login-ip`. */
  name: string;
  /** Attempts allowed within the window. */
  limit: number;
  windowSeconds: number;
  /** When set, reaching the limit locks the key for this long (a lock outlives the window). */
  lockSeconds?: number;
}

export type AttemptState = { allowed: true } | { allowed: false; retryAfterSeconds: number; locked: boolean };

// An attempt is counted when it starts, not when it has failed: a check that counted nothing let
// any number of concurrent guesses past it while the first ones were still being verified.
// KEYS: counter, lock; ARGV: limit, window. Returns {allowed, retry after, locked}.
const TAKE = `
local lockTtl = redis.call('TTL', KEYS[2])
if lockTtl > 0 then return {0, lockTtl, 1} end
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then
  local ttl = redis.call('TTL', KEYS[1])
  if ttl < 1 then ttl = 1 end
  return {0, ttl, 0}
end
redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return {1, 0, 0}`;

// A taken attempt failed: it stays counted, and when the count has reached the limit the lock
// starts. KEYS: counter, lock; ARGV: limit, lock seconds.
const FAILED = `
local lockTtl = redis.call('TTL', KEYS[2])
if lockTtl > 0 then return {0, lockTtl, 1} end
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])
  redis.call('DEL', KEYS[1])
  return {0, tonumber(ARGV[2]), 1}
end
return {1, 0, 0}`;

// A taken attempt that was not a failure gives its place back. KEYS: counter.
const RELEASE = `
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
return 1`;

const toState = ([allowed, retryAfterSeconds, locked]: [number, number, number]): AttemptState =>
  allowed === 1 ? { allowed: true } : { allowed: false, retryAfterSeconds, locked: locked === 1 };

/**
 * Counts attempts (failed sign-ins, OTP guesses, reset requests) per key in Redis, shared by every
 * API process: a fixed window, and optionally a lock once the limit is reached. Keys are chosen by
 * the caller (an account's blind index, an IP address), so changing X-Forwarded-For does not
 * reset an account's count. If Redis fails the attempt is allowed and the failure logged: losing
 * Redis must not lock everyone out.
 */
export class AttemptLimiter {
  constructor(
    private readonly redis: Redis,
    readonly policy: AttemptPolicy,
    private readonly log: Logger,
  ) {}

  private counterKey = (key: string) => `attempts:${this.policy.name}:${key}`;
  private lockKey = (key: string) => `attempts:${this.policy.name}:lock:${key}`;

  /** Whether another attempt may be made now, without counting one. */
  async check(key: string): Promise<AttemptState> {
    try {
      const [[, lockTtl], [, count], [, ttl]] = (await this.redis
        .multi()
        .ttl(this.lockKey(key))
        .get(this.counterKey(key))
        .ttl(this.counterKey(key))
        .exec()) as [[null, number], [null, string | null], [null, number]];
      if (lockTtl > 0) return { allowed: false, retryAfterSeconds: lockTtl, locked: true };
      if (!this.policy.lockSeconds && Number(count ?? 0) >= this.policy.limit) {
        return { allowed: false, retryAfterSeconds: Math.max(ttl, 1), locked: false };
      }
      return { allowed: true };
    } catch (err) {
      this.log.error({ err, limiter: this.policy.name }, 'attempt limiter unavailable; allowing');
      return { allowed: true };
    }
  }

  /** Counts one attempt and says whether it may go ahead (throttle) or whether it started a lock. */
  async hit(key: string): Promise<AttemptState> {
    try {
      const [[, count], [, ttl]] = (await this.redis
        .multi()
        .incr(this.counterKey(key))
        .ttl(this.counterKey(key))
        .exec()) as [[null, number], [null, number]];
      if (ttl < 0) await this.redis.expire(this.counterKey(key), this.policy.windowSeconds);
      if (this.policy.lockSeconds) {
        // The attempt that reaches the limit starts the lock.
        if (count < this.policy.limit) return { allowed: true };
        await this.redis.multi().set(this.lockKey(key), '1', 'EX', this.policy.lockSeconds).del(this.counterKey(key)).exec();
        return { allowed: false, retryAfterSeconds: this.policy.lockSeconds, locked: true };
      }
      // A throttle lets `limit` attempts through and refuses the ones after.
      if (count <= this.policy.limit) return { allowed: true };
      return { allowed: false, retryAfterSeconds: Math.max(ttl, 1), locked: false };
    } catch (err) {
      this.log.error({ err, limiter: this.policy.name }, 'attempt limiter unavailable; not counted');
      return { allowed: true };
    }
  }

  /**
   * Starts an attempt whose outcome is known only later (a password or code being verified): it
   * is counted now, so that concurrent attempts cannot outrun the limit, and refused when the key
   * is locked or its count (failures and attempts under way) has reached the limit. Settle it with
   * `failed`, `release` or `reset`; one never settled (a crash) counts as a failure.
   */
  async take(key: string): Promise<AttemptState> {
    try {
      const state = toState((await this.redis.eval(TAKE, 2, this.counterKey(key), this.lockKey(key), this.policy.limit, this.policy.windowSeconds)) as [number, number, number]);
      // Under a lock policy a full count is as good as a lock: the attempts under way decide it.
      return state.allowed || !this.policy.lockSeconds ? state : { ...state, locked: true };
    } catch (err) {
      this.log.error({ err, limiter: this.policy.name }, 'attempt limiter unavailable; allowing');
      return { allowed: true };
    }
  }

  /** A taken attempt failed: it stays counted; says whether the lock is on (it starts at the limit). */
  async failed(key: string): Promise<AttemptState> {
    if (!this.policy.lockSeconds) return { allowed: true };
    try {
      return toState((await this.redis.eval(FAILED, 2, this.counterKey(key), this.lockKey(key), this.policy.limit, this.policy.lockSeconds)) as [number, number, number]);
    } catch (err) {
      this.log.error({ err, limiter: this.policy.name }, 'attempt limiter unavailable; not counted');
      return { allowed: true };
    }
  }

  /** A taken attempt that did not fail (only failures are what this limit counts): its place is given back. */
  async release(key: string): Promise<void> {
    try {
      await this.redis.eval(RELEASE, 1, this.counterKey(key));
    } catch (err) {
      this.log.error({ err, limiter: this.policy.name }, 'attempt limiter unavailable; not released');
    }
  }

  /**
   * A check (a password) as one attempt: taken before it runs, given back when right or when the
   * check itself fails, kept when wrong. The refusal, if any, says whether the key is locked.
   */
  async attempt(key: string, check: () => Promise<boolean>): Promise<{ right: true } | { right: false; state: AttemptState }> {
    const taken = await this.take(key);
    if (!taken.allowed) return { right: false, state: taken };
    let right: boolean;
    try {
      right = await check();
    } catch (err) {
      await this.release(key);
      throw err;
    }
    if (right) {
      await this.release(key);
      return { right: true };
    }
    return { right: false, state: await this.failed(key) };
  }

  /** Forgets the count and any lock (after a success, or a password reset). */
  async reset(key: string): Promise<void> {
    try {
      await this.redis.del(this.counterKey(key), this.lockKey(key));
    } catch (err) {
      this.log.error({ err, limiter: this.policy.name }, 'attempt limiter unavailable; not reset');
    }
  }
}

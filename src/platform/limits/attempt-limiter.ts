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
    private readonly policy: AttemptPolicy,
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

  /** Forgets the count and any lock (after a success, or a password reset). */
  async reset(key: string): Promise<void> {
    try {
      await this.redis.del(this.counterKey(key), this.lockKey(key));
    } catch (err) {
      this.log.error({ err, limiter: this.policy.name }, 'attempt limiter unavailable; not reset');
    }
  }
}

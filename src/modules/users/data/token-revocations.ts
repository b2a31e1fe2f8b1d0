import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { Logger } from '../../../platform/logger';

/**
 * Makes access tokens stop working before they expire: a revoked session, a blocked (suspended or
 * banned) user, or a user whose tokens must be re-issued (new roles). Every entry lives as long
 * as an access token can (its TTL), after which no token it concerns can still be valid.
 * Checked on every authenticated request with one MGET; when Redis cannot answer, the
 * database is asked instead (`fallback`), so a Redis outage never lets a revoked token through.
 * Callers write here before committing the database change: a failed write aborts the change (the
 * client retries), and a failed commit after it only refuses tokens early.
 */
const DELETE_IF_EQUAL = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export class TokenRevocations {
  constructor(
    private readonly redis: Redis,
    private readonly accessTokenTtlSeconds: number,
    private readonly fallback: (sessionId: string) => Promise<boolean>,
    private readonly log: Logger,
  ) {}

  async revokeSessions(sessionIds: string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    const multi = this.redis.multi();
    for (const id of sessionIds) multi.set(`auth:revoked:session:${id}`, '1', 'EX', this.accessTokenTtlSeconds);
    await multi.exec();
  }

  /** Each block is an entry of its own (a random value), so that lifting one cannot lift a later one. */
  async blockUser(userId: string): Promise<void> {
    await this.redis.set(`auth:revoked:user:${userId}`, randomUUID(), 'EX', this.accessTokenTtlSeconds);
  }

  /** The block in force (its entry), if any: what a reinstatement reads under the staff lock, to lift that one. */
  async blockOf(userId: string): Promise<string | null> {
    return this.redis.get(`auth:revoked:user:${userId}`);
  }

  /**
   * Lifts the block `entry`, unless another replaced it meanwhile: a reinstatement lifts after
   * its commit, and a suspension that took the staff lock right after that commit may have
   * blocked the user again before this runs.
   */
  async unblockUser(userId: string, entry: string): Promise<void> {
    await this.redis.eval(DELETE_IF_EQUAL, 1, `auth:revoked:user:${userId}`, entry);
  }

  /** Tokens issued before now must be refreshed (which picks up new roles); the session stays. */
  async requireReissue(userId: string): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    await this.redis.set(`auth:reissue:user:${userId}`, String(now), 'EX', this.accessTokenTtlSeconds);
  }

  /** Whether a token of this session and user, issued at `issuedAt` (seconds), is still good. */
  async isValid(userId: string, sessionId: string, issuedAt: number): Promise<boolean> {
    try {
      const [session, user, reissue] = await this.redis.mget(`auth:revoked:session:${sessionId}`, `auth:revoked:user:${userId}`, `auth:reissue:user:${userId}`);
      if (session || user) return false;
      // iat has one-second resolution: a token from the very second of the change still passes,
      // or a refresh in that second would be refused again.
      return !(reissue && issuedAt < Number(reissue));
    } catch (err) {
      this.log.warn({ err }, 'token revocation cache unavailable; asking the database');
      return this.fallback(sessionId);
    }
  }
}

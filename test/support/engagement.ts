import type Redis from 'ioredis';
import type { Sequelize } from 'sequelize';
import { databaseOptions } from '../../src/config';
import { POPULAR_CACHE_KEY } from '../../src/modules/engagement';
import { CachedJson } from '../../src/platform/cache/cached-json';
import { createSequelize } from '../../src/platform/db/sequelize';
import { createLogger, type Logger } from '../../src/platform/logger';
import { connectRedis } from '../../src/platform/redis';
import { startIdentityStack, type IdentityStack } from './identity';

export interface EngagementStack {
  stack: IdentityStack;
  redis: Redis;
  sequelize: Sequelize;
  log: Logger;
  /** Drops every shared popular list (loads begun before do not store theirs). */
  refreshPopularLists(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The identity stack as the engagement tests want it: views flushed only when a test asks (so
 * counts before a flush are known), item similarity recomputed every second (so recommendations
 * can be polled for); with Redis and Sequelize handles for what the tests check directly.
 */
export async function startEngagementStack(): Promise<EngagementStack> {
  const log = createLogger('silent', 'test');
  const stack = await startIdentityStack({ ENGAGEMENT_VIEW_FLUSH_INTERVAL_MS: '3600000', ENGAGEMENT_SIMILARITY_INTERVAL_MS: '1000' });
  const redis = await connectRedis(stack.api.config.REDIS_URL);
  const sequelize = createSequelize(databaseOptions(stack.api.config), log);
  return {
    stack,
    redis,
    sequelize,
    log,
    refreshPopularLists: () => new CachedJson<unknown>(redis, POPULAR_CACHE_KEY, 60, async () => [], log).invalidate(),
    async stop() {
      await sequelize.close();
      await redis.quit();
      await stack.stop();
    },
  };
}

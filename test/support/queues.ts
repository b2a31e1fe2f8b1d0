import { connectRedis } from '../../src/platform/redis';

// Free of vitest: scripts/start-test-app.ts (a plain process) uses it too.

/** Removes the Bull queues under a prefix of one's own (a test file's, a contract run's). */
export async function dropQueues(redisUrl: string, prefix: string): Promise<void> {
  const redis = await connectRedis(redisUrl);
  try {
    for (let cursor = '0'; ; ) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length) await redis.del(...keys);
      if ((cursor = next) === '0') break;
    }
  } finally {
    await redis.quit();
  }
}

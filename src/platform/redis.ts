import Redis, { type RedisOptions } from 'ioredis';

/**
 * A client for request-path work (cache, rate limits). It fails fast instead of queueing while
 * Redis is down, so a request falls back (cache miss, limiter passes) rather than hangs
 * (PERFORMANCE-NOTES.md). Bull makes its own clients with the queueing defaults it needs.
 */
export async function connectRedis(url: string, overrides: RedisOptions = {}): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 500,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    // Commands issued in the same tick (many requests under load) go out in one write.
    enableAutoPipelining: true,
    ...overrides,
  });
  // Errors while reconnecting are reported by the health check; without a listener ioredis prints them.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

export async function closeRedis(client: Redis): Promise<void> {
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

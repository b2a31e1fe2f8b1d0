import Bull, { type Queue, type QueueOptions } from 'bull';
import Redis from 'ioredis';

/**
 * Makes Bull queues for slow or external work, sharing two Redis connections (client and
 * subscriber) across queues; each queue's blocking client is its own, as Bull requires.
 * Defaults: exponential retries and bounded history so Redis does not grow without limit.
 */
export class QueueFactory {
  private readonly queues = new Map<string, Queue>();
  private readonly shared: { client: Redis; subscriber: Redis };

  constructor(private readonly redisUrl: string, private readonly prefix = 'junggo') {
    // Bull needs these options on its connections: it blocks on them and must not give up mid-job.
    const opts = { maxRetriesPerRequest: null, enableReadyCheck: false, lazyConnect: false };
    this.shared = { client: new Redis(redisUrl, opts), subscriber: new Redis(redisUrl, opts) };
    for (const c of Object.values(this.shared)) c.on('error', () => undefined);
  }

  get(name: string, overrides: Partial<QueueOptions> = {}): Queue {
    let queue = this.queues.get(name);
    if (queue) return queue;
    queue = new Bull(name, {
      prefix: this.prefix,
      createClient: (type) => {
        if (type === 'client') return this.shared.client;
        if (type === 'subscriber') return this.shared.subscriber;
        const blocking = new Redis(this.redisUrl, { maxRetriesPerRequest: null, enableReadyCheck: false });
        blocking.on('error', () => undefined);
        return blocking;
      },
      defaultJobOptions: {
        attempts: 5,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { age: 24 * 3600, count: 1000 },
        removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
      },
      settings: { stalledInterval: 30_000, maxStalledCount: 2 },
      ...overrides,
    });
    this.queues.set(name, queue);
    return queue;
  }

  all(): Queue[] {
    return [...this.queues.values()];
  }

  /** For the readiness check. */
  async ping(): Promise<void> {
    await this.shared.client.ping();
  }

  /** Lets active jobs finish (Bull's close waits for them), then closes the shared connections. */
  async close(): Promise<void> {
    await Promise.all(this.all().map((q) => q.close()));
    this.queues.clear();
    await Promise.all(Object.values(this.shared).map((c) => c.quit().catch(() => c.disconnect())));
  }
}

import Bull, { type AdvancedSettings, type JobOptions, type Queue, type QueueOptions } from 'bull';
import Redis, { type RedisOptions } from 'ioredis';
import { settleWithin } from './jobs/settle-within';
import type { Logger } from './logger';

export interface QueueFactoryOptions {
  /** Merged over DEFAULT_QUEUE_SETTINGS; tests shorten the lock so a killed worker's job comes back in seconds. */
  settings?: AdvancedSettings;
  log?: Logger;
}

export const DEFAULT_QUEUE_SETTINGS = {
  // A worker renews its job's lock every lockDuration / 2. A job whose lock lapsed (worker killed,
  // event loop blocked for longer than lockDuration) is moved back to wait by the next stalled check.
  lockDuration: 30_000,
  stalledInterval: 30_000,
  // A job that keeps killing its worker is failed after this many stalls instead of looping forever.
  maxStalledCount: 2,
} satisfies AdvancedSettings;

export const DEFAULT_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  // Bounded history, so Redis does not grow without limit. Note that idempotent enqueue (a fixed
  // jobId) only dedupes while the finished job is still kept.
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
} satisfies JobOptions;

// Bull blocks on its connections and must not drop a command mid-job (a lost moveToCompleted
// strands the job), so commands wait out a Redis restart instead of failing after N retries.
const BULL_REDIS: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: false };

/**
 * Makes Bull queues for slow or external work, sharing two Redis connections (client and
 * subscriber) across queues; each queue's blocking client is its own, as Bull requires. Because
 * the connections are ours (createClient), Bull's close leaves them open: `close()` quits them.
 */
export class QueueFactory {
  private readonly queues = new Map<string, Queue>();
  private readonly shared: { client: Redis; subscriber: Redis };
  private readonly blocking: Redis[] = [];
  private readonly settings: AdvancedSettings;
  private readonly log: Logger | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly redisUrl: string, private readonly prefix = 'junggo', options: QueueFactoryOptions = {}) {
    this.settings = { ...DEFAULT_QUEUE_SETTINGS, ...options.settings };
    this.log = options.log;
    this.shared = { client: this.connect(), subscriber: this.connect() };
  }

  /** The queue of this name, made on first use; `overrides` only count on that first call. */
  get(name: string, overrides: Partial<QueueOptions> = {}): Queue {
    if (this.closing) throw new Error(`queue '${name}' requested after the queue factory was closed`);
    let queue = this.queues.get(name);
    if (queue) return queue;
    queue = new Bull(name, {
      prefix: this.prefix,
      ...overrides,
      // Always ours, so that close() can quit every connection.
      createClient: (type) => {
        if (type === 'client') return this.shared.client;
        if (type === 'subscriber') return this.shared.subscriber;
        const blocking = this.connect();
        this.blocking.push(blocking);
        return blocking;
      },
      // Fresh objects per queue: Bull writes its own defaults into `settings`.
      defaultJobOptions: { ...DEFAULT_JOB_OPTIONS, ...overrides.defaultJobOptions },
      settings: { ...this.settings, ...overrides.settings },
    });
    this.queues.set(name, queue);
    return queue;
  }

  all(): Queue[] {
    return [...this.queues.values()];
  }

  /** Whether a marker (`mark`) is set, whichever process set it. */
  async marked(marker: string): Promise<boolean> {
    return (await this.shared.client.exists(`${this.prefix}:mark:${marker}`)) === 1;
  }

  async mark(marker: string, ttlSeconds: number): Promise<void> {
    await this.shared.client.set(`${this.prefix}:mark:${marker}`, '1', 'EX', ttlSeconds);
  }

  /** For the readiness check. */
  async ping(): Promise<void> {
    await this.shared.client.ping();
  }

  /**
   * Stops taking new jobs in this process and waits for the active ones, up to `timeoutMs`.
   * True when every active job finished in time.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    // After close, pausing would make Bull reconnect the blocking connections close quit.
    if (this.closing) return this.closing.then(() => true);
    const paused = Promise.all(this.all().map((q) => q.pause(true))).then(() => true);
    return (await settleWithin(paused, timeoutMs)) === true;
  }

  /**
   * Drains (bounded by `drainTimeoutMs`, under the process's 10 s shutdown budget), then closes
   * every queue and connection. Jobs still running after the timeout lose their lock and are
   * picked up again as stalled by another worker. Safe to call more than once.
   */
  close(drainTimeoutMs = 8_000): Promise<void> {
    return (this.closing ??= this.shutdown(drainTimeoutMs));
  }

  private async shutdown(drainTimeoutMs: number): Promise<void> {
    if (drainTimeoutMs > 0 && !(await this.drain(drainTimeoutMs))) {
      this.log?.warn({ timeout_ms: drainTimeoutMs }, 'queues did not drain in time; unfinished jobs will be retried as stalled');
    }
    // Already drained or given up on: `true` keeps Bull from waiting for active jobs a second time.
    await Promise.all(this.all().map((q) => settleWithin(q.close(true), 2_000)));
    this.queues.clear();
    await Promise.all([...Object.values(this.shared), ...this.blocking].map(quit));
  }

  private connect(): Redis {
    // Named, so that CLIENT LIST tells Bull's connections (and a leak of them) apart.
    const connection = new Redis(this.redisUrl, { ...BULL_REDIS, connectionName: `bull:${this.prefix}` });
    // Bull re-emits connection errors as queue 'error' events (logged by JobQueues); without a
    // listener of its own ioredis would print them.
    connection.on('error', () => undefined);
    return connection;
  }
}

async function quit(connection: Redis): Promise<void> {
  // QUIT waits in the offline queue while Redis is down; do not let shutdown wait with it.
  if ((await settleWithin(connection.quit(), 1_000)) === undefined) connection.disconnect();
}

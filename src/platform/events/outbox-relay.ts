import type { ConfirmChannel, Message } from 'amqplib';
import { Client } from 'pg';
import type { RabbitConnection } from '../bus/rabbitmq';
import type { Logger } from '../logger';
import type { StoredEvent } from './event';
import { toStoredEvent } from './event-store';
import { EVENTS_EXCHANGE, declareEventTopology } from './topology';

// One leader publishes at a time (a session advisory lock), so events of one aggregate reach the
// broker in version order however many relays run; the others stand by and take over when the
// leader's session ends.
const RELAY_LOCK = 7_316_002;

export interface RelayOptions {
  databaseUrl: string;
  /** Best a connection of its own: the broker blocks publishing connections under a resource alarm. */
  rabbit: RabbitConnection;
  log: Logger;
  batchSize?: number;
  pollIntervalMs?: number;
  confirmTimeoutMs?: number;
  /** Test seam: runs after the broker confirmed a batch and before it is marked published. */
  afterConfirm?: (events: StoredEvent[]) => void | Promise<void>;
  onPublished?: (count: number) => void;
}

class PublishFailed extends Error {}

// The leader's session holds the lock: if its host vanishes the server must notice soon (its own
// keepalives, ~25 s here instead of the OS's 2 h), and a query stuck on a dead or wedged server
// must fail rather than hang while holding it. Its queries take milliseconds; its transaction
// stays open while a batch waits for confirms.
const RELAY_SESSION = {
  keepAlive: true,
  keepAliveInitialDelayMillis: 10_000,
  connectionTimeoutMillis: 10_000,
  statement_timeout: 30_000,
  query_timeout: 40_000,
  idle_in_transaction_session_timeout: 60_000,
  application_name: 'junggo-outbox-relay',
  options: '-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3',
};

/**
 * Publishes unpublished events in position order to the events exchange (persistent, mandatory,
 * publisher confirms) and marks them published only after the broker's ack. Woken by NOTIFY on
 * append, polling as a fallback; a failed batch is retried with exponential backoff.
 */
export class OutboxRelay {
  private client: Client | null = null;
  private channel: ConfirmChannel | null = null;
  private leader = false;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private wake: ((always: boolean) => void) | null = null;
  /** Set by a notification that arrives while a batch is being published, so it is not missed. */
  private woken = false;
  /** Per channel, so that a late return on a dropped channel cannot fail a retry on the next. */
  private readonly returned = new WeakMap<ConfirmChannel, Set<string>>();
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly confirmTimeoutMs: number;

  constructor(private readonly opts: RelayOptions) {
    this.batchSize = opts.batchSize ?? 500;
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
    this.confirmTimeoutMs = opts.confirmTimeoutMs ?? 5000;
  }

  get isLeader(): boolean {
    return this.leader;
  }

  async start(): Promise<void> {
    // Reopened by the connection whenever it closes: after a channel-level error, or when a
    // confirm timeout made us drop it.
    await this.opts.rabbit.keepOpen(async (model) => {
      if (this.stopping) return null;
      const channel = await model.createConfirmChannel();
      channel.on('error', (err: Error) => this.opts.log.warn({ err }, 'relay channel error'));
      channel.on('close', () => {
        if (this.channel === channel) this.channel = null;
      });
      await declareEventTopology(channel).catch(async (err: unknown) => {
        await channel.close().catch(() => undefined);
        throw err;
      });
      const returned = new Set<string>();
      channel.on('return', (msg: Message) => returned.add(String(msg.properties.messageId)));
      this.returned.set(channel, returned);
      this.channel = channel;
      this.interrupt();
      return channel;
    });
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.interrupt();
    await this.loop;
    if (this.channel) this.drop(this.channel);
    await this.closeClient();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      let published = 0;
      this.woken = false; // this batch reads what those notifications announced
      try {
        published = await this.publishBatch();
        failures = 0;
      } catch (err) {
        failures++;
        const delay = Math.min(250 * 2 ** (failures - 1), 30_000);
        this.opts.log.warn({ err: err instanceof Error ? err.message : err, delay_ms: delay }, 'outbox relay: batch failed; retrying');
        if (!(err instanceof PublishFailed)) await this.closeClient();
        // Commits do not cut a backoff short: each would republish the failing batch.
        await this.sleep(delay, false);
        continue;
      }
      if (published < this.batchSize) await this.sleep(this.leader ? this.pollIntervalMs : 2000, true);
    }
  }

  /** Publishes one batch; returns how many events were published. */
  async publishBatch(): Promise<number> {
    const client = await this.connect();
    if (!this.leader) {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [RELAY_LOCK]);
      this.leader = rows[0]!.ok;
      if (!this.leader) return 0;
      this.opts.log.info('outbox relay: leading');
    }
    const channel = this.channel;
    if (!channel) throw new PublishFailed('no broker channel');
    await client.query('BEGIN');
    try {
      const { rows } = await client.query(
        'SELECT * FROM events WHERE published_at IS NULL ORDER BY position LIMIT $1 FOR UPDATE SKIP LOCKED',
        [this.batchSize],
      );
      const events = rows.map(toStoredEvent);
      if (events.length === 0) {
        await client.query('COMMIT');
        return 0;
      }
      const confirmed = await this.publish(channel, events);
      // Only the confirmed prefix is marked, so a failure never lets a later event of the same
      // aggregate count as published before an earlier one.
      const prefix: StoredEvent[] = [];
      for (const [i, event] of events.entries()) {
        if (!confirmed[i]) break;
        prefix.push(event);
      }
      if (prefix.length) await this.opts.afterConfirm?.(prefix);
      if (prefix.length) await client.query('UPDATE events SET published_at = now() WHERE position = ANY($1)', [prefix.map((e) => e.position)]);
      await client.query('COMMIT');
      this.opts.onPublished?.(prefix.length);
      if (prefix.length < events.length) throw new PublishFailed(`${events.length - prefix.length} of ${events.length} events not confirmed`);
      return prefix.length;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /** Publishes each event and resolves, per event, whether the broker confirmed it as routed. */
  private async publish(channel: ConfirmChannel, events: StoredEvent[]): Promise<boolean[]> {
    const returned = this.returned.get(channel)!;
    const acks = events.map(
      (event) =>
        new Promise<boolean>((resolve) => {
          returned.delete(event.id);
          const body = Buffer.from(JSON.stringify(event));
          try {
            channel.publish(
              EVENTS_EXCHANGE,
              event.type,
              body,
              {
                persistent: true,
                mandatory: true,
                messageId: event.id,
                type: event.type,
                contentType: 'application/json',
                timestamp: Math.floor(Date.parse(event.occurred_at) / 1000),
                headers: { aggregate_type: event.aggregate_type, aggregate_id: event.aggregate_id, aggregate_version: event.aggregate_version, position: event.position },
              },
              // A return (unroutable) arrives before the ack of the same message.
              (err: unknown) => resolve(!err && !returned.delete(event.id)),
            );
          } catch {
            resolve(false);
          }
        }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), this.confirmTimeoutMs)));
    const settled: (boolean | 'timeout')[] = await Promise.all(acks.map((a) => Promise.race([a, timeout])));
    clearTimeout(timer);
    // Confirms that did not come in time may never come (a blocked or wedged channel): the retry
    // starts on a fresh channel rather than piling more unconfirmed copies onto this one.
    if (settled.includes('timeout')) this.drop(channel);
    return settled.map((s) => s === true);
  }

  private drop(channel: ConfirmChannel): void {
    if (this.channel === channel) this.channel = null;
    // Not awaited: a blocked connection would not answer the close either.
    void channel.close().catch(() => undefined);
  }

  private async connect(): Promise<Client> {
    if (this.client) return this.client;
    const client = new Client({ connectionString: this.opts.databaseUrl, ...RELAY_SESSION });
    client.on('error', (err) => this.opts.log.warn({ err: err.message }, 'relay database connection error'));
    client.on('notification', () => this.nudge());
    await client.connect();
    await client.query('LISTEN events_appended');
    this.client = client;
    return client;
  }

  private async closeClient(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.leader = false; // the session lock goes with the session
    await client?.end().catch(() => undefined);
  }

  /** A notification of appended events: ends an idle wait, not a backoff. */
  private nudge(): void {
    this.woken = true;
    this.wake?.(false);
  }

  /** Ends a backoff too: stopping, or a (re)opened channel that the retry may succeed on. */
  private interrupt(): void {
    this.wake?.(true);
  }

  private sleep(ms: number, nudgeable: boolean): Promise<void> {
    if (this.stopping || (nudgeable && this.woken)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = (always) => {
        if (always || nudgeable) done();
      };
    });
  }
}

import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { RabbitConnection } from '../bus/rabbitmq';
import type { Logger } from '../logger';
import type { StoredEvent } from './event';
import { declareSubscriberQueue } from './topology';

export interface HandlerContext {
  /** The transaction the inbox row is written in: write the handler's effect in it too. */
  transaction: Transaction;
  log: Logger;
}

/** A named consumer of some event types. The name is its queue's name; keep it stable. */
export interface Subscription {
  name: string;
  events: string[];
  /**
   * Types this subscription took in an earlier release and no longer takes: their bindings are
   * removed (AMQP cannot list a queue's bindings, so this is how the stale ones are named), and
   * deliveries of them still queued are acked unhandled. Keep a type here: an earlier release's
   * worker reopening a channel during the rolling deploy binds it again.
   */
  retired?: string[];
  handle: (event: StoredEvent, ctx: HandlerContext) => Promise<void>;
  /** Deliveries before a message goes to the DLQ (default 5). */
  deliveryLimit?: number;
  /** Messages handled at once (default 64). */
  prefetch?: number;
}

export interface SubscriberMetrics {
  onHandled?: (subscriber: string, outcome: 'handled' | 'duplicate' | 'failed') => void;
}

export interface SubscribersDeps {
  sequelize: Sequelize;
  rabbit: RabbitConnection;
  log: Logger;
  metrics?: SubscriberMetrics;
  /** How long a run of dependency failures keeps first deliveries held and retried before they count (default 2 min). */
  transientHoldMs?: number;
}

const PAUSE_INITIAL_MS = 50;
const PAUSE_MAX_MS = 10_000;

interface Failures {
  count: number;
  since?: number;
}

interface Delivery {
  msg: ConsumeMessage;
  event: StoredEvent;
}

/** One consuming channel of a subscriber; its deliveries can be settled on it alone. */
interface Consumer {
  sub: Subscription;
  channel: Channel;
  consumerTag: string;
  closed: boolean;
  /**
   * The subscriber's failures in a row (across its channels): the pause after the next one
   * doubles. `since`: when its current run of dependency failures began (a success ends it).
   */
  failures: Failures;
}

/**
 * Runs subscriptions at-least-once with effect-once: deliveries are handled in a PostgreSQL
 * transaction that first claims (subscriber, event id) in the inbox; a duplicate finds the claim
 * and is acked without running the handler. Deliveries that arrive together are handled
 * together, in delivery order, in one transaction (one claim query, one commit), which is what
 * lets one consumer keep up with the relay (docs/performance.md); if that batch fails, each
 * message is retried on its own, so only a failing one is returned to the queue and, past the
 * delivery limit, dead-lettered to the subscriber's DLQ while the others keep flowing.
 *
 * A failure of a dependency (database, document store, search index unreachable: `isTransient`)
 * is not the message's fault, so it does not spend deliveries: the subscriber keeps the messages
 * it holds and pauses, 50 ms doubling to 10 s while failures continue, before trying them
 * again; the prefetched rest wait. Only `transientHoldMs` into such a run are they returned,
 * counted (see tryBatch).
 *
 * A delivery of a type the subscription has retired is acked unhandled; one of a type it neither
 * takes nor retired (a newer release's, during a rolling deploy) is returned after a pause, for a
 * worker that takes it, and past the delivery limit dead-lettered: never acked unhandled.
 */
export class Subscribers {
  private readonly consumers = new Map<string, Consumer>();
  private readonly active = new Set<Promise<void>>();
  private readonly sleepers = new Set<() => void>();
  private readonly transientHoldMs: number;
  private stopping = false;

  constructor(private readonly deps: SubscribersDeps) {
    this.transientHoldMs = deps.transientHoldMs ?? 120_000;
  }

  async subscribe(sub: Subscription): Promise<void> {
    if (!/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/.test(sub.name)) throw new Error(`bad subscriber name ${sub.name}`);
    // Unbound after the taken types are bound, a type in both would silently stop arriving.
    const both = sub.retired?.filter((type) => sub.events.includes(type)) ?? [];
    if (both.length) throw new Error(`subscriber ${sub.name} both takes and retires ${both.join(', ')}`);
    const failures: Failures = { count: 0 };
    await this.deps.rabbit.keepOpen((model) => this.consume(sub, model, failures));
  }

  /** Stops taking deliveries, then waits for the handlers in progress. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const wake of this.sleepers) wake();
    for (const { channel, consumerTag } of this.consumers.values()) await channel.cancel(consumerTag).catch(() => undefined);
    await Promise.allSettled([...this.active]);
    for (const { channel } of this.consumers.values()) await channel.close().catch(() => undefined);
    this.consumers.clear();
  }

  private async consume(sub: Subscription, model: ChannelModel, failures: Failures): Promise<Channel | null> {
    if (this.stopping) return null;
    const channel = await model.createChannel();
    // Checked again after each wait: a reopen under way when stop() ran must not start consuming.
    const stopped = async () => {
      if (!this.stopping) return false;
      await channel.close().catch(() => undefined);
      return true;
    };
    channel.on('error', (err: Error) => this.deps.log.warn({ err, subscriber: sub.name }, 'subscriber channel error'));
    const prefetch = sub.prefetch ?? 64;
    let queue: string;
    try {
      queue = await declareSubscriberQueue(channel, sub.name, sub.events, sub.deliveryLimit ?? 5, sub.retired);
      await channel.prefetch(prefetch);
    } catch (err) {
      await channel.close().catch(() => undefined);
      throw err;
    }
    if (await stopped()) return null;
    const consumer: Consumer = { sub, channel, consumerTag: '', closed: false, failures };
    const pending: ConsumeMessage[] = [];
    let running: Promise<void> | null = null;
    channel.on('close', () => {
      // What this channel delivered and did not settle is back in the queue.
      consumer.closed = true;
      pending.length = 0;
      if (this.consumers.get(sub.name) === consumer) this.consumers.delete(sub.name);
    });
    const drain = async () => {
      try {
        while (pending.length && !consumer.closed && !this.stopping) await this.handleBatch(consumer, pending.splice(0, prefetch));
      } catch (err) {
        this.deps.log.error({ err, subscriber: sub.name }, 'subscriber batch failed unexpectedly; its messages return with the channel');
        await channel.close().catch(() => undefined);
      } finally {
        running = null;
      }
    };
    const { consumerTag } = await channel.consume(queue, (msg) => {
      if (!msg) {
        // The broker cancelled the consumer (its queue was deleted, say): closing the channel
        // makes the connection open a new one, which declares the queue and consumes again.
        this.deps.log.warn({ subscriber: sub.name }, 'consumer cancelled by the broker; resubscribing');
        void channel.close().catch(() => undefined);
        return;
      }
      pending.push(msg);
      if (running) return;
      // One batch at a time per subscriber keeps deliveries in order; those arriving during
      // a batch form the next one.
      const work = new Promise<void>((resolve) => setImmediate(resolve)).then(drain);
      running = work;
      this.active.add(work);
      void work.finally(() => this.active.delete(work));
    });
    consumer.consumerTag = consumerTag;
    if (await stopped()) return null;
    this.consumers.set(sub.name, consumer);
    return channel;
  }

  private decode(consumer: Consumer, msg: ConsumeMessage): StoredEvent | null {
    try {
      const event = JSON.parse(msg.content.toString('utf8')) as StoredEvent;
      if (typeof event.id !== 'string' || typeof event.type !== 'string') throw new Error('not an event');
      return event;
    } catch (err) {
      this.deps.log.error({ err, subscriber: consumer.sub.name, message_id: msg.properties.messageId }, 'undecodable message; dead-lettering');
      this.settle(consumer, (channel) => channel.reject(msg, false));
      return null;
    }
  }

  private async handleBatch(consumer: Consumer, messages: ConsumeMessage[]): Promise<void> {
    const { sub } = consumer;
    const taken: Delivery[] = [];
    const unknown: Delivery[] = [];
    for (const msg of messages) {
      const event = this.decode(consumer, msg);
      if (!event) continue;
      if (sub.events.includes(event.type)) taken.push({ msg, event });
      // Queued before its binding was removed: the subscription is done with it.
      else if (sub.retired?.includes(event.type)) this.settle(consumer, (channel) => channel.ack(msg));
      else unknown.push({ msg, event });
    }
    await this.handleTaken(consumer, taken);
    if (unknown.length) await this.returnUnknown(consumer, unknown);
  }

  private async handleTaken(consumer: Consumer, batch: Delivery[]): Promise<void> {
    if (batch.length === 0) return;
    if (batch.length > 1 && (await this.tryBatch(consumer, batch))) return;
    // Each on its own, so that only a failing message is returned.
    for (const item of batch) {
      if (await this.tryBatch(consumer, [item])) continue;
      if (consumer.closed || this.stopping) return; // closing the channel returns the rest
      await this.sleep(this.nextPause(consumer));
      // basic.reject, not basic.nack: from RabbitMQ 4.3 a quorum queue counts only a reject
      // towards the delivery limit (a nack returns the message uncounted); before 4.3 both count.
      this.settle(consumer, (channel) => channel.reject(item.msg, true));
    }
  }

  /**
   * Types neither taken nor retired: a newer release's, bound to the shared queue by its workers
   * during a rolling deploy. Acked here they would be lost, so they go back to the queue for a
   * worker that takes them; past the delivery limit they wait in the DLQ for `dlq-replay`. One
   * pause for all of them, so that a batch of them is not held pause after pause while the
   * workers that take them wait.
   */
  private async returnUnknown(consumer: Consumer, unknown: Delivery[]): Promise<void> {
    const { sub } = consumer;
    for (const type of new Set(unknown.map(({ event }) => event.type))) {
      const eventIds = unknown.filter(({ event }) => event.type === type).map(({ event }) => event.id);
      this.deps.log.warn({ subscriber: sub.name, type, event_ids: eventIds }, 'events of a type the subscription neither takes nor retired (a newer release binds it?); returning them');
    }
    if (consumer.closed || this.stopping) return;
    await this.sleep(this.nextPause(consumer));
    for (const { msg } of unknown) this.settle(consumer, (channel) => channel.reject(msg, true));
  }

  /**
   * Handles the batch in one transaction and acks it; true when done. While it fails on a
   * dependency, it keeps the messages and tries again after a pause, for `transientHoldMs` from
   * the start of the subscriber's run of such failures, and only for messages on their first
   * delivery: a message failing that way for its own reasons (a query it makes time out) is then
   * held once, not on each of its deliveries, and held messages cannot outlast the broker's
   * consumer timeout.
   */
  private async tryBatch(consumer: Consumer, batch: Delivery[]): Promise<boolean> {
    const { sub, failures } = consumer;
    const holdable = batch.every(({ msg }) => !msg.fields.redelivered);
    for (;;) {
      try {
        const outcomes = await this.handleInTransaction(sub, batch.map((b) => b.event));
        failures.count = 0;
        failures.since = undefined;
        batch.forEach(({ msg }, i) => {
          this.deps.metrics?.onHandled?.(sub.name, outcomes[i]!);
          this.settle(consumer, (channel) => channel.ack(msg));
        });
        return true;
      } catch (err) {
        const transient = isTransient(err);
        if (transient) failures.since ??= Date.now();
        if (!transient || !holdable || Date.now() - failures.since! >= this.transientHoldMs) {
          // Counted once, when given up; a batch's messages are counted when tried alone.
          if (batch.length === 1) {
            this.deps.metrics?.onHandled?.(sub.name, 'failed');
            this.deps.log.warn({ err, subscriber: sub.name, event_id: batch[0]!.event.id, type: batch[0]!.event.type }, 'handler failed; returning the message');
          }
          return false;
        }
        if (consumer.closed || this.stopping) return false;
        const delay = this.nextPause(consumer);
        this.deps.log.warn({ err, subscriber: sub.name, event_ids: batch.map((b) => b.event.id), pause_ms: delay }, 'handler failed on an unavailable dependency; keeping the messages');
        await this.sleep(delay);
        if (consumer.closed || this.stopping) return false;
      }
    }
  }

  /** The subscriber's pause after one more failure in a row: it handles nothing meanwhile. */
  private nextPause(consumer: Consumer): number {
    return Math.min(PAUSE_INITIAL_MS * 2 ** consumer.failures.count++, PAUSE_MAX_MS);
  }

  /** Cut short by `stop`. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  /** Acks or returns a delivery on its channel; a closed channel has returned it to the queue already. */
  private settle(consumer: Consumer, settle: (channel: Channel) => void): void {
    if (consumer.closed) return;
    try {
      settle(consumer.channel);
    } catch {
      /* closed meanwhile: the broker redelivers */
    }
  }

  /** Claims the events in the inbox and runs the handler for each newly claimed one, in one transaction. */
  private async handleInTransaction(sub: Subscription, events: StoredEvent[]): Promise<('handled' | 'duplicate')[]> {
    return this.deps.sequelize.transaction(async (transaction) => {
      const claimed = await this.deps.sequelize.query<{ event_id: string }>(
        'INSERT INTO inbox (subscriber, event_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING event_id',
        { bind: [sub.name, events.map((e) => e.id)], type: QueryTypes.SELECT, transaction },
      );
      const fresh = new Set(claimed.map((r) => r.event_id));
      const outcomes: ('handled' | 'duplicate')[] = [];
      for (const event of events) {
        // The same event twice in one batch: only the first claim runs the handler.
        if (!fresh.delete(event.id)) {
          outcomes.push('duplicate');
          continue;
        }
        const base = this.deps.log;
        let log: Logger | undefined;
        await sub.handle(event, {
          transaction,
          get log() {
            return (log ??= base.child({ subscriber: sub.name, event_id: event.id }));
          },
        });
        outcomes.push('handled');
      }
      return outcomes;
    });
  }
}

// Failures of a dependency rather than of the message. Node socket errors; PostgreSQL's
// connection exceptions (class 08), shutdown or start-up (57P0x), too many connections, a
// read-only standby after a failover, serialization failures and deadlocks.
const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', '57P01', '57P02', '57P03', '53300', '25006', '40001', '40P01']);
const TRANSIENT_NAMES = new Set([
  'SequelizeConnectionError',
  'SequelizeConnectionRefusedError',
  'SequelizeConnectionTimedOutError',
  'SequelizeHostNotReachableError',
  'SequelizeConnectionAcquireTimeoutError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'ConnectionError', // Elasticsearch
  'NoLivingConnectionsError',
  'TimeoutError',
  'MaxRetriesPerRequestError', // ioredis
]);
// pg and ioredis report a connection lost mid-query with a message only.
const TRANSIENT_MESSAGE = /^(Connection terminated|Client has encountered a connection error|Connection is closed)/;

/**
 * Whether `err` (or what it wraps: `cause`, Sequelize's `parent`, an AggregateError's `errors`)
 * says a dependency is unavailable. Errors of the platform's own clients say so with `retryable`.
 */
export function isTransient(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 4) return false;
  const e = err as { retryable?: unknown; code?: unknown; name?: unknown; message?: unknown; cause?: unknown; parent?: unknown; errors?: unknown };
  if (typeof e.retryable === 'boolean') return e.retryable;
  if (typeof e.code === 'string' && (TRANSIENT_CODES.has(e.code) || /^08[0-9A-Z]{3}$/.test(e.code))) return true;
  if (typeof e.name === 'string' && TRANSIENT_NAMES.has(e.name)) return true;
  if (typeof e.message === 'string' && TRANSIENT_MESSAGE.test(e.message)) return true;
  const wrapped = [e.cause, e.parent, ...(Array.isArray(e.errors) ? e.errors : [])];
  return wrapped.some((inner) => inner !== err && isTransient(inner, depth + 1));
}

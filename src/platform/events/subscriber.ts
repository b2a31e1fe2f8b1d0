import type { Channel, ConsumeMessage } from 'amqplib';
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
  handle: (event: StoredEvent, ctx: HandlerContext) => Promise<void>;
  /** Deliveries before a message goes to the DLQ (default 5). */
  deliveryLimit?: number;
  /** Messages handled at once (default 16). */
  prefetch?: number;
}

export interface SubscriberMetrics {
  onHandled?: (subscriber: string, outcome: 'handled' | 'duplicate' | 'failed') => void;
}

/**
 * Runs subscriptions at-least-once with effect-once: deliveries are handled in a PostgreSQL
 * transaction that first claims (subscriber, event id) in the inbox; a duplicate finds the claim
 * and is acked without running the handler. Deliveries that arrive together are handled
 * together, in delivery order, in one transaction (one claim query, one commit), which is what
 * lets one consumer keep up with the relay (docs/performance.md); if that batch fails, each
 * message is retried on its own, so only a failing one is returned to the queue and, past the
 * delivery limit, dead-lettered to the subscriber's DLQ while the others keep flowing.
 */
export class Subscribers {
  private readonly consumers = new Map<string, { channel: Channel; consumerTag: string }>();
  private readonly active = new Set<Promise<void>>();
  private stopping = false;

  constructor(
    private readonly deps: { sequelize: Sequelize; rabbit: RabbitConnection; log: Logger; metrics?: SubscriberMetrics },
  ) {}

  async subscribe(sub: Subscription): Promise<void> {
    if (!/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/.test(sub.name)) throw new Error(`bad subscriber name ${sub.name}`);
    await this.deps.rabbit.onReady(async (model) => {
      if (this.stopping) return;
      const channel = await model.createChannel();
      channel.on('error', (err: Error) => this.deps.log.warn({ err, subscriber: sub.name }, 'subscriber channel error'));
      const queue = await declareSubscriberQueue(channel, sub.name, sub.events, sub.deliveryLimit ?? 5);
      const prefetch = sub.prefetch ?? 64;
      await channel.prefetch(prefetch);
      const pending: ConsumeMessage[] = [];
      let running: Promise<void> | null = null;
      const drain = async () => {
        while (pending.length) await this.handleBatch(sub, channel, pending.splice(0, prefetch));
        running = null;
      };
      const { consumerTag } = await channel.consume(queue, (msg) => {
        if (!msg) return; // the broker cancelled the consumer; recovery re-subscribes
        pending.push(msg);
        if (running) return;
        // One batch at a time per subscriber keeps deliveries in order; those arriving during
        // a batch form the next one.
        const work = new Promise<void>((resolve) => setImmediate(resolve)).then(drain);
        running = work;
        this.active.add(work);
        void work.finally(() => this.active.delete(work));
      });
      this.consumers.set(sub.name, { channel, consumerTag });
    });
  }

  /** Stops taking deliveries, then waits for the handlers in progress. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const { channel, consumerTag } of this.consumers.values()) await channel.cancel(consumerTag).catch(() => undefined);
    await Promise.allSettled([...this.active]);
    for (const { channel } of this.consumers.values()) await channel.close().catch(() => undefined);
    this.consumers.clear();
  }

  private decode(sub: Subscription, channel: Channel, msg: ConsumeMessage): StoredEvent | null {
    try {
      const event = JSON.parse(msg.content.toString('utf8')) as StoredEvent;
      if (typeof event.id !== 'string' || typeof event.type !== 'string') throw new Error('not an event');
      return event;
    } catch (err) {
      this.deps.log.error({ err, subscriber: sub.name, message_id: msg.properties.messageId }, 'undecodable message; dead-lettering');
      channel.nack(msg, false, false);
      return null;
    }
  }

  private async handleBatch(sub: Subscription, channel: Channel, messages: ConsumeMessage[]): Promise<void> {
    const batch = messages.flatMap((msg) => {
      const event = this.decode(sub, channel, msg);
      return event ? [{ msg, event }] : [];
    });
    if (batch.length === 0) return;
    if (batch.length > 1) {
      try {
        const outcomes = await this.handleInTransaction(sub, batch.map((b) => b.event));
        batch.forEach(({ msg }, i) => {
          this.deps.metrics?.onHandled?.(sub.name, outcomes[i]!);
          channel.ack(msg);
        });
        return;
      } catch {
        // Fall through: find the failing message(s) one by one.
      }
    }
    for (const { msg, event } of batch) await this.handleOne(sub, channel, msg, event);
  }

  private async handleOne(sub: Subscription, channel: Channel, msg: ConsumeMessage, event: StoredEvent): Promise<void> {
    try {
      const [outcome] = await this.handleInTransaction(sub, [event]);
      this.deps.metrics?.onHandled?.(sub.name, outcome!);
      channel.ack(msg);
    } catch (err) {
      this.deps.metrics?.onHandled?.(sub.name, 'failed');
      this.deps.log.warn({ err, subscriber: sub.name, event_id: event.id, type: event.type }, 'handler failed; returning the message');
      // A short pause so a poison message does not spin; the quorum queue counts deliveries
      // and dead-letters it at the limit.
      await new Promise((r) => setTimeout(r, 50));
      try {
        channel.nack(msg, false, true);
      } catch {
        /* channel closed: the broker redelivers */
      }
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

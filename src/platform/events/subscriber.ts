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
 * Runs subscriptions at-least-once with effect-once: each delivery is handled in a PostgreSQL
 * transaction that first claims (subscriber, event id) in the inbox; a duplicate finds the
 * claim and is acked without running the handler. A failing handler's message is returned to
 * the queue and, past the delivery limit, dead-lettered to the subscriber's DLQ, while other
 * messages keep flowing.
 */
export class Subscribers {
  private readonly channels = new Map<string, Channel>();
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
      await channel.prefetch(sub.prefetch ?? 16);
      await channel.consume(queue, (msg) => {
        if (!msg) return; // the broker cancelled the consumer; recovery re-subscribes
        const work = this.deliver(sub, channel, msg);
        this.active.add(work);
        void work.finally(() => this.active.delete(work));
      });
      this.channels.set(sub.name, channel);
    });
  }

  /** Stops taking deliveries, then waits for the handlers in progress. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const channel of this.channels.values()) await channel.close().catch(() => undefined);
    await Promise.allSettled([...this.active]);
    this.channels.clear();
  }

  private async deliver(sub: Subscription, channel: Channel, msg: ConsumeMessage): Promise<void> {
    const log = this.deps.log.child({ subscriber: sub.name, event_id: msg.properties.messageId });
    let event: StoredEvent;
    try {
      event = JSON.parse(msg.content.toString('utf8')) as StoredEvent;
      if (typeof event.id !== 'string' || typeof event.type !== 'string') throw new Error('not an event');
    } catch (err) {
      log.error({ err }, 'undecodable message; dead-lettering');
      return void channel.nack(msg, false, false);
    }
    try {
      const outcome = await this.deps.sequelize.transaction(async (transaction) => {
        const claimed = await this.deps.sequelize.query(
          'INSERT INTO inbox (subscriber, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING event_id',
          { bind: [sub.name, event.id], type: QueryTypes.SELECT, transaction },
        );
        if (claimed.length === 0) return 'duplicate' as const;
        await sub.handle(event, { transaction, log });
        return 'handled' as const;
      });
      this.deps.metrics?.onHandled?.(sub.name, outcome);
      channel.ack(msg);
    } catch (err) {
      this.deps.metrics?.onHandled?.(sub.name, 'failed');
      log.warn({ err, type: event.type, redelivered: msg.fields.redelivered }, 'handler failed; returning the message');
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
}

import { Counter, Gauge, type Registry } from 'prom-client';
import { QueryTypes, type Sequelize } from 'sequelize';
import type { RabbitConnection } from '../bus/rabbitmq';
import { dlqFor, queueFor } from './topology';

/** Age in seconds of the oldest unpublished event (0 when the outbox is empty). */
export async function outboxLagSeconds(sequelize: Sequelize): Promise<number> {
  const [row] = await sequelize.query<{ lag: number | null }>(
    'SELECT extract(epoch FROM clock_timestamp() - min(occurred_at))::float8 AS lag FROM events WHERE published_at IS NULL',
    { type: QueryTypes.SELECT },
  );
  return Math.max(0, row?.lag ?? 0);
}

/**
 * The event backbone's metrics: outbox lag, publish rate, handling outcomes, and per subscriber
 * the messages waiting in its queue (consumer lag) and in its DLQ. Gauges are read on scrape.
 */
export function registerEventMetrics(registry: Registry, deps: { sequelize: Sequelize; rabbit: RabbitConnection; subscribers: () => string[] }) {
  const published = new Counter({ name: 'events_published_total', help: 'Events published to the broker by the outbox relay', registers: [registry] });
  const handled = new Counter({
    name: 'events_handled_total',
    help: 'Event deliveries by subscriber and outcome (handled, duplicate, failed)',
    labelNames: ['subscriber', 'outcome'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'outbox_lag_seconds',
    help: 'Age of the oldest event not yet published',
    registers: [registry],
    async collect() {
      this.set(await outboxLagSeconds(deps.sequelize));
    },
  });
  const queueDepth = async (gauge: Gauge<'subscriber'>, queueOf: (s: string) => string) => {
    const channel = deps.rabbit.adminChannel;
    if (!channel) return;
    for (const subscriber of deps.subscribers()) {
      const info = await channel.checkQueue(queueOf(subscriber)).catch(() => null);
      if (info) gauge.set({ subscriber }, info.messageCount);
    }
  };
  new Gauge({
    name: 'consumer_lag_messages',
    help: 'Messages waiting in a subscriber queue',
    labelNames: ['subscriber'] as const,
    registers: [registry],
    async collect() {
      await queueDepth(this, queueFor);
    },
  });
  new Gauge({
    name: 'dead_letter_messages',
    help: 'Messages in a subscriber dead-letter queue',
    labelNames: ['subscriber'] as const,
    registers: [registry],
    async collect() {
      await queueDepth(this, dlqFor);
    },
  });
  return {
    onPublished: (count: number) => published.inc(count),
    onHandled: (subscriber: string, outcome: string) => handled.inc({ subscriber, outcome }),
  };
}

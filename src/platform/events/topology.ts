import type { Channel } from 'amqplib';

/** Domain events: a durable topic exchange, routing key = event type. */
export const EVENTS_EXCHANGE = 'junggo.events';
/** Where subscribers' queues dead-letter to, routing key = the subscriber's DLQ name. */
export const DEAD_LETTER_EXCHANGE = 'junggo.dead-letter';
/**
 * Bound to every event type, so that an event with no subscriber yet is still routable: a
 * `mandatory` publish that comes back unroutable then means broken topology, worth retrying.
 * Bounded, it keeps the latest events for inspection only.
 */
export const ARCHIVE_QUEUE = 'junggo.events.archive';

export const queueFor = (subscriber: string) => `junggo.${subscriber}`;
export const dlqFor = (subscriber: string) => `junggo.${subscriber}.dlq`;

export async function declareEventTopology(channel: Channel): Promise<void> {
  await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
  await channel.assertExchange(DEAD_LETTER_EXCHANGE, 'direct', { durable: true });
  await channel.assertQueue(ARCHIVE_QUEUE, { durable: true, arguments: { 'x-max-length': 10_000, 'x-overflow': 'drop-head' } });
  await channel.bindQueue(ARCHIVE_QUEUE, EVENTS_EXCHANGE, '#');
}

/**
 * A subscriber's durable quorum queue, bound to its event types and unbound from the types it
 * has retired. After `deliveryLimit` deliveries a message is dead-lettered to the subscriber's
 * DLQ instead of blocking the queue.
 */
export async function declareSubscriberQueue(channel: Channel, subscriber: string, eventTypes: string[], deliveryLimit: number, retiredTypes: string[] = []): Promise<string> {
  const queue = queueFor(subscriber);
  const dlq = dlqFor(subscriber);
  await declareEventTopology(channel);
  await channel.assertQueue(dlq, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await channel.bindQueue(dlq, DEAD_LETTER_EXCHANGE, dlq);
  await channel.assertQueue(queue, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-delivery-limit': deliveryLimit,
      'x-dead-letter-exchange': DEAD_LETTER_EXCHANGE,
      'x-dead-letter-routing-key': dlq,
    },
  });
  for (const type of eventTypes) await channel.bindQueue(queue, EVENTS_EXCHANGE, type);
  // AMQP cannot list a queue's bindings, so stale ones are removed by name; RabbitMQ answers
  // unbind-ok for a binding that is already gone, so this is safe to repeat on every declare.
  for (const type of retiredTypes) await channel.unbindQueue(queue, EVENTS_EXCHANGE, type);
  return queue;
}

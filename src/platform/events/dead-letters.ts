import type { ConfirmChannel } from 'amqplib';
import { dlqFor, queueFor } from './topology';

/**
 * Moves the messages in a subscriber's DLQ back to its queue, once its handler is fixed: as many
 * as it held when the replay began, since with a handler still failing, moved messages come back
 * while others are moved and "until empty" might never end. Each message is re-sent with
 * confirms before it is removed from the DLQ, so a crash mid-way duplicates at worst (the inbox
 * makes that harmless) and never loses one. Returns the count.
 */
export async function replayDeadLetters(channel: ConfirmChannel, subscriber: string): Promise<number> {
  const source = dlqFor(subscriber);
  const target = queueFor(subscriber);
  const { messageCount } = await channel.checkQueue(source);
  await channel.checkQueue(target);
  let moved = 0;
  while (moved < messageCount) {
    const msg = await channel.get(source, { noAck: false });
    if (!msg) break;
    // The death history stays behind: the message starts over with a fresh delivery count.
    const { 'x-death': _death, 'x-first-death-exchange': _e, 'x-first-death-queue': _q, 'x-first-death-reason': _r, ...headers } = msg.properties.headers ?? {};
    channel.sendToQueue(target, msg.content, { ...msg.properties, headers, persistent: true });
    await channel.waitForConfirms();
    channel.ack(msg);
    moved++;
  }
  // A quorum queue applies acks through its log: one more read, which the queue answers after
  // the acks before it, returns only once they are applied, so the DLQ's count is right when this
  // returns. A dead letter that arrived meanwhile goes back unmoved (no delivery limit there).
  const late = await channel.get(source, { noAck: false });
  if (late) channel.nack(late, false, true);
  return moved;
}

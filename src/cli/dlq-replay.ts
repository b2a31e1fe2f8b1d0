import { loadConfigOrExit } from '../config';
import { RabbitConnection } from '../platform/bus/rabbitmq';
import { replayDeadLetters } from '../platform/events/dead-letters';
import { createLogger } from '../platform/logger';

// `make dlq-replay SUBSCRIBER=projection.activity-log`: moves a subscriber's dead letters back to
// its queue after the handler is fixed.
async function main(): Promise<void> {
  const subscriber = process.argv[2];
  if (!subscriber) throw new Error('usage: dlq-replay <subscriber>');
  const config = loadConfigOrExit();
  const rabbit = new RabbitConnection(config.RABBITMQ_URL, createLogger('warn', 'dlq-replay'));
  await rabbit.start();
  try {
    const channel = rabbit.adminChannel;
    if (!channel) throw new Error('no broker channel');
    const moved = await replayDeadLetters(channel, subscriber);
    process.stdout.write(`moved ${moved} message(s) from the DLQ of ${subscriber} back to its queue\n`);
  } finally {
    await rabbit.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`dlq-replay failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

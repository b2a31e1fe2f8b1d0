import { loadConfigOrExit, type Config } from '../config';
import { RabbitConnection } from '../platform/bus/rabbitmq';
import { replayDeadLetters } from '../platform/events/dead-letters';
import { createLogger } from '../platform/logger';

/** `make dlq-replay SUBSCRIBER=projection.activity-log`: moves a subscriber's dead letters back to its queue once its handler is fixed. */
export async function dlqReplay(subscriber: string | undefined, config: Config): Promise<string> {
  if (!subscriber) throw new Error('usage: dlq-replay <subscriber>');
  const rabbit = new RabbitConnection(config.RABBITMQ_URL, createLogger('warn', 'dlq-replay'), 'junggo-dlq-replay');
  await rabbit.start();
  try {
    const channel = rabbit.adminChannel;
    if (!channel) throw new Error('no broker channel');
    const moved = await replayDeadLetters(channel, subscriber);
    return `moved ${moved} message(s) from the DLQ of ${subscriber} back to its queue`;
  } finally {
    await rabbit.stop();
  }
}

if (require.main === module) {
  dlqReplay(process.argv[2], loadConfigOrExit()).then(
    (summary) => process.stdout.write(`${summary}\n`),
    (err) => {
      process.stderr.write(`dlq-replay failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

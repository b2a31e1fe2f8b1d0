// The consuming side of `make bench-events`: an outbox relay and one subscriber, as the worker
// runs them, in their own process. Prints "ready" once subscribed.
import { databaseOptions, loadConfigOrExit } from '../src/config';
import { RabbitConnection } from '../src/platform/bus/rabbitmq';
import { createSequelize } from '../src/platform/db/sequelize';
import { OutboxRelay } from '../src/platform/events/outbox-relay';
import { Subscribers } from '../src/platform/events/subscriber';
import { createLogger } from '../src/platform/logger';

const [subscriber, type] = process.argv.slice(2) as [string, string];
const config = loadConfigOrExit();
const log = createLogger('warn', 'bench-events');

void (async () => {
  const sequelize = createSequelize(databaseOptions(config), log);
  const rabbit = new RabbitConnection(config.RABBITMQ_URL, log);
  await rabbit.start();
  const subscribers = new Subscribers({ sequelize, rabbit, log });
  await subscribers.subscribe({ name: subscriber, events: [type], handle: async () => undefined, prefetch: 64 });
  const relay = new OutboxRelay({ databaseUrl: config.DATABASE_URL, rabbit, log });
  await relay.start();
  process.stdout.write('ready\n');
  process.on('SIGTERM', async () => {
    await relay.stop();
    await subscribers.stop();
    await rabbit.stop();
    await sequelize.close();
    process.exit(0);
  });
})();

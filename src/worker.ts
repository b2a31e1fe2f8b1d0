import { databaseOptions, loadConfigOrExit, type Config } from './config';
import { RabbitConnection } from './platform/bus/rabbitmq';
import { createSequelize } from './platform/db/sequelize';
import { createLogger, type Logger } from './platform/logger';
import { QueueFactory } from './platform/queues';
import { runProcess } from './runtime';

export interface RunningWorker {
  queues: QueueFactory;
  rabbit: RabbitConnection;
  stop: () => Promise<void>;
}

/**
 * The background process: Bull queue processors and RabbitMQ consumers run here, never in the
 * API. Components register their processors and subscriptions on `queues` and `rabbit`.
 */
export async function startWorker(config: Config, log: Logger = createLogger(config.LOG_LEVEL, 'worker')): Promise<RunningWorker> {
  const sequelize = createSequelize(databaseOptions(config), log);
  await sequelize.authenticate();
  const queues = new QueueFactory(config.REDIS_URL);
  await queues.ping();
  const rabbit = new RabbitConnection(config.RABBITMQ_URL, log);
  await rabbit.start();
  log.info('worker started');
  return {
    queues,
    rabbit,
    stop: async () => {
      // Consumers stop first so no new work starts, then queues let active jobs finish.
      await rabbit.stop();
      await queues.close();
      await sequelize.close();
      log.info('worker stopped');
    },
  };
}

if (require.main === module) {
  const config = loadConfigOrExit();
  const log = createLogger(config.LOG_LEVEL, 'worker');
  startWorker(config, log).then(
    (worker) => runProcess(log, worker.stop, config.SHUTDOWN_TIMEOUT_MS),
    (err) => {
      log.fatal({ err }, 'worker failed to start');
      process.exit(1);
    },
  );
}

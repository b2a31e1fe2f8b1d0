import type { Server } from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { databaseOptions, loadConfigOrExit, type Config } from './config';
import { createSmtpMailer, sendEmailJob } from './integrations/email';
import { createSensSmsSender, sendSmsJob } from './integrations/sms';
import { INBOX_RETENTION_DAYS, pruneInboxJob } from './modules/maintenance/jobs';
import { projections } from './modules/projections';
import { endSuspensionJobFor } from './modules/users/admin';
import { RabbitConnection } from './platform/bus/rabbitmq';
import { createSequelize } from './platform/db/sequelize';
import { createDocumentStore } from './platform/documents';
import { registerEventMetrics } from './platform/events/event-metrics';
import { OutboxRelay } from './platform/events/outbox-relay';
import { projectionSubscription } from './platform/events/projection';
import { Subscribers } from './platform/events/subscriber';
import { JobQueues } from './platform/jobs/job-queues';
import { registerQueueMetrics } from './platform/jobs/queue-metrics';
import { createLogger, type Logger } from './platform/logger';
import { startOpsServer } from './platform/ops-server';
import { QueueFactory } from './platform/queues';
import { runProcess } from './runtime';

export interface RunningWorker {
  jobs: JobQueues;
  subscribers: Subscribers;
  relay: OutboxRelay;
  opsServer: Server;
  stop: () => Promise<void>;
}

/**
 * The background process, never the API: the outbox relay, the event subscribers (projections
 * first) and the Bull job processors, plus a small ops server for metrics and liveness.
 */
export async function startWorker(config: Config, log: Logger = createLogger(config.LOG_LEVEL, 'worker')): Promise<RunningWorker> {
  const sequelize = createSequelize(databaseOptions(config), log);
  await sequelize.authenticate();
  const store = await createDocumentStore({ databaseUrl: config.DATABASE_URL, mongodbUrl: config.MONGODB_URL, log });
  const factory = new QueueFactory(config.REDIS_URL, config.QUEUE_PREFIX, { log });
  await factory.ping();
  const jobs = new JobQueues(factory, log);
  const rabbit = new RabbitConnection(config.RABBITMQ_URL, log);
  await rabbit.start();

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const subscriptions = projections.map((p) => projectionSubscription(p, store));
  const eventMetrics = registerEventMetrics(registry, { sequelize, rabbit, subscribers: () => subscriptions.map((s) => s.name) });
  registerQueueMetrics(registry, () => factory.all());

  const subscribers = new Subscribers({ sequelize, rabbit, log, metrics: { onHandled: eventMetrics.onHandled } });
  for (const subscription of subscriptions) await subscribers.subscribe(subscription);
  const relay = new OutboxRelay({ databaseUrl: config.DATABASE_URL, rabbit, log, onPublished: eventMetrics.onPublished });
  await relay.start();

  const prune = pruneInboxJob(sequelize);
  await jobs.process([prune], { concurrency: 1 });
  const mailer = createSmtpMailer({ url: config.SMTP_URL, from: config.MAIL_FROM, requireTLS: config.SMTP_REQUIRE_TLS });
  await jobs.process([sendEmailJob(mailer)], { concurrency: 4 });
  const sms = createSensSmsSender({
    baseUrl: config.SMS_PROVIDER_URL,
    accessKey: config.SMS_ACCESS_KEY,
    secretKey: config.SMS_SECRET_KEY,
    serviceId: config.SMS_SERVICE_ID,
    from: config.SMS_SENDER,
  });
  await jobs.process([sendSmsJob(sms)], { concurrency: 4 });
  await jobs.process([endSuspensionJobFor(config, sequelize)], { concurrency: 2 });
  // Daily; the day is the cause, so every worker asking on the same day adds one job.
  const schedulePrune = () =>
    jobs
      .enqueue(prune, { retention_days: INBOX_RETENTION_DAYS }, { causationId: new Date().toISOString().slice(0, 10) })
      .catch((err) => log.warn({ err }, 'could not schedule inbox pruning'));
  await schedulePrune();
  const pruneTimer = setInterval(schedulePrune, 3_600_000);
  pruneTimer.unref();

  const opsServer = await startOpsServer(registry, config.HOST, config.WORKER_PORT);
  log.info({ ops: `http://${config.HOST}:${(opsServer.address() as { port: number }).port}` }, 'worker started');
  return {
    jobs,
    subscribers,
    relay,
    opsServer,
    stop: async () => {
      // Take no new work, let work in progress finish, then close the connections.
      clearInterval(pruneTimer);
      await new Promise<void>((resolve) => opsServer.close(() => resolve()));
      await relay.stop();
      await subscribers.stop();
      await jobs.close(); // closes the factory's queues and connections too
      await mailer.close();
      await rabbit.stop();
      await store.close();
      await sequelize.close();
      log.info('worker stopped');
    },
  };
}

if (require.main === module) {
  const config = loadConfigOrExit();
  const log = createLogger(config.LOG_LEVEL, 'worker');
  runProcess(log, () => startWorker(config, log), config.SHUTDOWN_TIMEOUT_MS);
}

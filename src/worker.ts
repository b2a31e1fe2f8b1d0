import type { Server } from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { databaseOptions, loadConfigOrExit, type Config } from './config';
import { createSmtpMailer, sendEmailJob } from './integrations/email';
import { createSensSmsSender, sendSmsJob } from './integrations/sms';
import { INBOX_RETENTION_DAYS, pruneIdempotencyKeysJob, pruneInboxJob } from './modules/maintenance/jobs';
import { projections } from './modules/projections';
import { engagementWorker } from './modules/engagement';
import { productDetailCacheSubscription } from './modules/products';
import { searchIndexFor, searchIndexSubscription } from './modules/search';
import { deletedListingPhotosSubscription, mediaUrlFor, productImageJobs } from './modules/products/images';
import { endSuspensionJobFor } from './modules/users/admin';
import { RabbitConnection } from './platform/bus/rabbitmq';
import { createSequelize } from './platform/db/sequelize';
import { createDocumentStore } from './platform/documents';
import { createObjectStorage } from './platform/storage';
import { registerEventMetrics } from './platform/events/event-metrics';
import { OutboxRelay } from './platform/events/outbox-relay';
import { projectionSubscription } from './platform/events/projection';
import { Subscribers } from './platform/events/subscriber';
import { JobQueues } from './platform/jobs/job-queues';
import { schedulePeriodic } from './platform/jobs/periodic';
import { registerQueueMetrics } from './platform/jobs/queue-metrics';
import { createLogger, type Logger } from './platform/logger';
import { startOpsServer } from './platform/ops-server';
import { QueueFactory } from './platform/queues';
import { closeRedis, connectRedis } from './platform/redis';
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
  const rabbit = new RabbitConnection(config.RABBITMQ_URL, log, 'junggo-worker');
  await rabbit.start();
  // Under a memory or disk alarm the broker stops reading from connections that publish, which
  // would hold back the subscribers' acks too: the relay publishes on a connection of its own.
  const publisher = new RabbitConnection(config.RABBITMQ_URL, log, 'junggo-worker-relay');
  await publisher.start();

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const subscriptions = projections.map((p) => projectionSubscription(p, store));
  // Listing details cached by the API are cleared when photos, likes or the seller's profile change.
  const cacheRedis = await connectRedis(config.REDIS_URL);
  subscriptions.push(productDetailCacheSubscription({ sequelize, redis: cacheRedis, store, log, cacheTtlSeconds: config.PRODUCT_CACHE_TTL_SECONDS }));
  // Likes, views, keyword alerts and recommendations: jobs, subscriptions and their schedules.
  const engagementRedis = await connectRedis(config.REDIS_URL);
  const engagement = engagementWorker({
    sequelize,
    redis: engagementRedis,
    log,
    namespace: config.QUEUE_PREFIX,
    jobs,
    viewFlushIntervalMs: config.ENGAGEMENT_VIEW_FLUSH_INTERVAL_MS,
    similarityIntervalMs: config.ENGAGEMENT_SIMILARITY_INTERVAL_MS,
  });
  subscriptions.push(...engagement.subscriptions);
  // Keeps the search index (PostgreSQL or Elasticsearch) from product events.
  const searchIndex = searchIndexFor(config, sequelize, log);
  subscriptions.push(searchIndexSubscription({ sequelize, index: searchIndex }));
  // Photos: processed by jobs, their files swept (below); a deleted listing's photos deleted with it.
  const storage = createObjectStorage(config);
  const photosDeps = { sequelize, storage, jobs, mediaUrl: mediaUrlFor(config) };
  subscriptions.push(deletedListingPhotosSubscription(photosDeps));
  const eventMetrics = registerEventMetrics(registry, { sequelize, rabbit, subscribers: () => subscriptions.map((s) => s.name) });
  registerQueueMetrics(registry, () => factory.all());

  const subscribers = new Subscribers({ sequelize, rabbit, log, metrics: { onHandled: eventMetrics.onHandled } });
  for (const subscription of subscriptions) await subscribers.subscribe(subscription);
  const relay = new OutboxRelay({ databaseUrl: config.DATABASE_URL, rabbit: publisher, log, onPublished: eventMetrics.onPublished });
  await relay.start();

  const prune = pruneInboxJob(sequelize);
  const pruneKeys = pruneIdempotencyKeysJob(sequelize);
  const photoJobs = productImageJobs(photosDeps);
  await jobs.process([prune, pruneKeys, photoJobs.sweep, ...engagement.maintenance], { concurrency: 1 });
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
  // Photo processing decodes images of up to 50 MP: two at a time bounds the memory it takes.
  await jobs.process(photoJobs.processing, { concurrency: 2 });
  await engagement.start(log);
  const schedules = [
    schedulePeriodic(jobs, prune, { retention_days: INBOX_RETENTION_DAYS }, { periodMs: 86_400_000, checkMs: 3_600_000, atStart: true }, log),
    schedulePeriodic(jobs, pruneKeys, {}, { periodMs: 86_400_000, checkMs: 3_600_000, atStart: true }, log),
    photoJobs.schedule(log),
  ];

  const opsServer = await startOpsServer(registry, config.HOST, config.WORKER_PORT);
  log.info({ ops: `http://${config.HOST}:${(opsServer.address() as { port: number }).port}` }, 'worker started');
  return {
    jobs,
    subscribers,
    relay,
    opsServer,
    stop: async () => {
      // Take no new work, let work in progress finish, then close the connections.
      for (const stop of schedules) stop();
      engagement.stop();
      await new Promise<void>((resolve) => opsServer.close(() => resolve()));
      await relay.stop();
      await subscribers.stop();
      await searchIndex.close();
      await jobs.close(); // closes the factory's queues and connections too
      await closeRedis(engagementRedis);
      await mailer.close();
      await publisher.stop();
      await rabbit.stop();
      await store.close();
      await storage.close();
      await closeRedis(cacheRedis);
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

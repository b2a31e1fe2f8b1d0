import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from './app';
import { databaseOptions, loadConfigOrExit, type Config } from './config';
import { handlerMap } from './handlers';
import { categoriesModule } from './modules/categories';
import { usersModule } from './modules/users';
import { socialModule } from './modules/users/social';
import { accountAdminModule } from './modules/users/admin';
import { identityVerificationModule } from './modules/users/identity-verification';
import { neighbourhoodsModule } from './modules/neighbourhoods';
import { productsModule } from './modules/products';
import { mediaUrlFor, productImagesModule } from './modules/products/images';
import { engagementModule } from './modules/engagement';
import { searchModule } from './modules/search';
import { createDocumentStore } from './platform/documents';
import { createObjectStorage } from './platform/storage';
import { JobQueues } from './platform/jobs/job-queues';
import { QUEUE_NAMES } from './modules/queues';
import { QueueFactory } from './platform/queues';
import { RabbitConnection } from './platform/bus/rabbitmq';
import { outboxLagSeconds } from './platform/events/event-metrics';
import { PgListener } from './platform/db/pg-listener';
import { createSequelize } from './platform/db/sequelize';
import { createMetrics } from './platform/http/metrics';
import { loadSpec } from './platform/http/spec';
import { createLogger, type Logger } from './platform/logger';
import { closeRedis, connectRedis } from './platform/redis';
import { runProcess } from './runtime';

export interface RunningApi {
  url: string;
  server: Server;
  stop: () => Promise<void>;
}

/** Connects to PostgreSQL, Redis and RabbitMQ, builds the app and listens. `stop` drains and closes everything. */
export async function startApi(config: Config, log: Logger = createLogger(config.LOG_LEVEL, 'api')): Promise<RunningApi> {
  const sequelize = createSequelize(databaseOptions(config), log);
  await sequelize.authenticate();
  const redis = await connectRedis(config.REDIS_URL);
  const rabbit = new RabbitConnection(config.RABBITMQ_URL, log);
  await rabbit.start();
  const listener = new PgListener(config.DATABASE_URL, log);

  // Only for the job board: the API enqueues through these but never processes them.
  const queueFactory = new QueueFactory(config.REDIS_URL, config.QUEUE_PREFIX, { log });
  const queues = QUEUE_NAMES.map((name) => queueFactory.get(name));

  const store = await createDocumentStore({ databaseUrl: config.DATABASE_URL, mongodbUrl: config.MONGODB_URL, log });
  const jobs = new JobQueues(queueFactory, log);

  const categories = categoriesModule({
    sequelize,
    redis,
    listener,
    cacheTtlSeconds: config.CATEGORY_CACHE_TTL_SECONDS,
    log,
    // Bound late: staff permissions are the accounts component's, checked on the account as it is now.
    requireEditor: (ctx, t) => accountAdmin.admin.requireStaff(ctx, 'categories:edit', t),
  });
  const users = await usersModule({ config, sequelize, redis, store, jobs, log });
  const social = socialModule({ config, redis, users });
  const accountAdmin = accountAdminModule({ config, sequelize, users, jobs });
  const identityVerification = identityVerificationModule({ config, redis, log, users });
  const neighbourhoods = neighbourhoodsModule({ sequelize });
  const engagement = engagementModule({
    sequelize,
    redis,
    log,
    namespace: config.QUEUE_PREFIX,
    mediaUrl: mediaUrlFor(config),
    // Bound late: the listings component takes the likes' reader, and its cache takes their changes.
    likeCountChanged: (id) => products.cache.invalidate(id),
  });
  const products = productsModule({
    sequelize,
    redis,
    store,
    log,
    cacheTtlSeconds: config.PRODUCT_CACHE_TTL_SECONDS,
    likedBy: engagement.likedBy,
    recordView: engagement.recordView,
    requireModerator: (ctx, t) => accountAdmin.admin.requireStaff(ctx, 'listings:moderate', t),
  });
  const storage = createObjectStorage(config);
  // Uploads spool to this host's disk (the S3 adapter): what a crashed process left is removed
  // here, since the worker's sweep sees only its own host. An hour is past any upload's timeout.
  void storage.sweepTemporary(3600).catch((err: unknown) => log.warn({ err }, 'temporary storage files not swept'));
  const productImages = productImagesModule({ sequelize, storage, jobs, mediaUrl: mediaUrlFor(config), redis, log, uploadLimit: config.PHOTO_UPLOAD_LIMIT });
  const search = searchModule({ config, sequelize, redis, listener, store, log, neighbourhoods });
  await listener.start();

  const app = buildApp({
    config,
    log,
    spec: loadSpec(),
    redis,
    metrics: createMetrics(),
    handlers: handlerMap({ categories, users, social, accountAdmin, identityVerification, neighbourhoods, products, engagement, productImages, search }),
    media: productImages.media,
    tokenGuard: users.tokenGuard,
    queueBoardAccess: (ctx) => accountAdmin.admin.requireStaff(ctx, 'jobs:manage'),
    idempotency: sequelize,
    queues,
    checks: [
      { name: 'postgres', check: async () => void (await sequelize.query('SELECT 1')) },
      { name: 'redis', check: async () => void (await redis.ping()) },
      { name: 'rabbitmq', check: () => rabbit.ping() },
      {
        name: 'outbox',
        check: async () => {
          const lag = await outboxLagSeconds(sequelize);
          if (lag > config.OUTBOX_LAG_DEGRADED_SECONDS) return { degraded: `the oldest unpublished event is ${Math.round(lag)} s old` };
        },
      },
    ],
  });

  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.PORT, config.HOST, () => resolve(s));
    s.once('error', reject);
  });
  // Keep idle sockets open longer than a proxy's keepalive, so nginx never reuses a closed one.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`;
  log.info({ url, docs: `${config.PUBLIC_BASE_URL ?? url}/docs` }, 'api listening');

  return {
    url,
    server,
    stop: async () => {
      // Stop accepting, let in-flight requests finish, then close the clients.
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await listener.stop();
      await queueFactory.close();
      await store.close();
      await storage.close();
      await search.close();
      await rabbit.stop();
      await closeRedis(redis);
      await sequelize.close();
      log.info('api stopped');
    },
  };
}

if (require.main === module) {
  const config = loadConfigOrExit();
  const log = createLogger(config.LOG_LEVEL, 'api');
  runProcess(log, () => startApi(config, log), config.SHUTDOWN_TIMEOUT_MS);
}

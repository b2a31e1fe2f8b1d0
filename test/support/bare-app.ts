import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { buildApp } from '../../src/app';
import type { HealthCheck } from '../../src/platform/health';
import { createMetrics } from '../../src/platform/http/metrics';
import type { HandlerMap } from '../../src/platform/http/operations';
import { loadSpec } from '../../src/platform/http/spec';
import { createLogger } from '../../src/platform/logger';
import { connectRedis } from '../../src/platform/redis';
import { testConfig } from './env';

const unused = async (): Promise<never> => {
  throw new Error('this operation is not used by this test');
};

/**
 * The real HTTP pipeline (buildApp from the bundled spec) with handlers and health checks a test
 * chooses: for what the real components cannot be made to do on demand (throw, break the
 * contract, lose a dependency). Handlers not given throw.
 */
export async function startBareApp(opts: { handlers?: Partial<HandlerMap>; checks?: HealthCheck[]; logTo?: DestinationStream } = {}) {
  const config = testConfig();
  const redis = await connectRedis(config.REDIS_URL);
  const handlers = { listProductCategories: unused, getProductCategory: unused, updateProductCategory: unused, ...opts.handlers } as HandlerMap;
  const app = buildApp({
    config,
    log: opts.logTo ? createLogger('info', 'test', opts.logTo) : createLogger('silent', 'test'),
    spec: loadSpec(),
    redis,
    metrics: createMetrics(),
    queues: [],
    checks: opts.checks ?? [],
    handlers,
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      await new Promise((r) => server.close(r));
      await redis.quit();
    },
  };
}

import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config';

/** The test environment: its own database and Redis database, never the development ones. */
export const TEST_ENV = {
  NODE_ENV: 'test',
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  HOST: '127.0.0.1',
  PORT: '0',
  DATABASE_URL: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/junggo_test',
  REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/15',
  RABBITMQ_URL: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  // The test client plays the proxy: each test sends its own X-Forwarded-For, so rate-limit
  // buckets do not leak between tests.
  TRUST_PROXY: 'loopback',
  WORKER_PORT: '0',
  // Each test file (and each concurrent run) gets its own Bull queues: a worker started by one file
  // never takes the jobs (e-mails, SMS) of another.
  QUEUE_PREFIX: `test-${randomBytes(4).toString('hex')}`,
  JWT_SECRET: 'test-secret-0123456789abcdef0123456789abcdef',
};

export const testConfig = (overrides: Record<string, string> = {}): Config => loadConfig({ ...TEST_ENV, ...overrides });

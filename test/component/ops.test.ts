import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/app';
import { startBareApp } from '../support/bare-app';
import { expectProblem, raw } from '../support/http';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

describe('GET /health/live and /health/ready', () => {
  it('when the process runs, then live is 200', async () => {
    const res = await raw(`${api.url}/health/live`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ok', checks: {} });
  });

  it('when PostgreSQL, Redis and RabbitMQ answer, then ready is 200 with each check up', async () => {
    const res = await raw(`${api.url}/health/ready`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ checks: { postgres: { status: 'up' }, redis: { status: 'up' }, rabbitmq: { status: 'up' } } });
    // No worker runs in these tests, so events left by other suites may age in the outbox:
    // the outbox may be behind (degraded), never down.
    expect(['ok', 'degraded']).toContain(res.json.status);
    expect(['up', 'degraded']).toContain((res.json.checks as Record<string, { status: string }>).outbox!.status);
  });

  it('when a dependency is unreachable, then ready is 503 naming it, with no internal detail', async () => {
    // A Redis client aimed at a port where nothing listens: what readiness sees when Redis is down.
    const deadRedis = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    deadRedis.on('error', () => undefined);
    const app = await startBareApp({
      checks: [
        { name: 'postgres', check: async () => undefined },
        { name: 'redis', check: async () => void (await deadRedis.connect().then(() => deadRedis.ping())) },
      ],
    });
    try {
      const res = await raw(`${app.base}/health/ready`);
      expect(res.status).toBe(503);
      expect(res.json).toMatchObject({ status: 'unavailable', checks: { postgres: { status: 'up' }, redis: { status: 'down', detail: 'unreachable' } } });
      expect(res.text).not.toContain('ECONNREFUSED');
    } finally {
      await app.stop();
      deadRedis.disconnect();
    }
  });

  it('when an ops route gets a query parameter, then 400 names it', async () => {
    const res = await raw(`${api.url}/health/live?verbose=1`);
    expectProblem(res, 400, 'validation_failed');
    expect(res.json.errors).toEqual([expect.objectContaining({ parameter: 'verbose', in: 'query' })]);
  });
});

describe('GET /metrics', () => {
  it('when requests were served, then the duration histogram has them by operationId and status', async () => {
    await api.client().GET('/products/categories');
    await raw(`${api.url}/v1/products/categories?max_depth=99`);
    const res = await raw(`${api.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/http_request_duration_seconds_count\{operation_id="listProductCategories",method="GET",status="200"\} \d+/);
    expect(res.text).toMatch(/http_request_duration_seconds_count\{operation_id="listProductCategories",method="GET",status="400"\} \d+/);
    expect(res.text).toContain('process_cpu_seconds_total');
  });
});

describe('GET /docs, /openapi.json, /openapi.yaml', () => {
  it('when fetched, then the Redoc page is served with a policy that lets it run', async () => {
    const res = await raw(`${api.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.text).toContain('Junggo API');
    expect(res.headers.get('content-security-policy')).toContain("worker-src 'self' blob:");
  });

  it('when fetched, then the public description has the partner operations and none of the internal ones', async () => {
    const json = await raw(`${api.url}/openapi.json`);
    expect(json.status).toBe(200);
    const doc = json.json as { openapi: string; paths: Record<string, unknown>; servers: { url: string }[] };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/v1' })]);
    expect(Object.keys(doc.paths)).toContain('/products/categories');
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/health') || p === '/metrics')).toEqual([]);
    expect(json.text).not.toContain('x-internal');
    const yaml = await raw(`${api.url}/openapi.yaml`);
    expect(yaml.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(yaml.text).toMatch(/^openapi: 3\.1\.0/m);
  });
});

describe('cross-origin requests', () => {
  it('when the origin is on the allowlist, then CORS headers allow it and expose Request-Id; otherwise not', async () => {
    const ok = await raw(`${api.url}/v1/products/categories`, { headers: { Origin: 'http://localhost:3000' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(ok.headers.get('access-control-expose-headers')).toContain('Request-Id');
    const evil = await raw(`${api.url}/v1/products/categories`, { headers: { Origin: 'https://evil.example' } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('GET /health/ready and the outbox', () => {
  it('when the oldest unpublished event is older than the threshold, then ready is 200 but degraded, naming the outbox', async () => {
    const { Client } = await import('pg');
    const lagging = await startTestApi({ OUTBOX_LAG_DEGRADED_SECONDS: '60' });
    const db = new Client({ connectionString: lagging.config.DATABASE_URL });
    await db.connect();
    const id = `evt_test_${Date.now()}`;
    try {
      await db.query(
        `INSERT INTO events (id, aggregate_type, aggregate_id, aggregate_version, type, payload, occurred_at)
         VALUES ($1, 'test', $1, 1, 'test_health.lagging', '{}', now() - interval '1 hour')`,
        [id],
      );
      const res = await raw(`${lagging.url}/health/ready`);
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ status: 'degraded', checks: { outbox: { status: 'degraded' }, postgres: { status: 'up' } } });
    } finally {
      // Left unpublished it would keep every later readiness check degraded.
      await db.query('UPDATE events SET published_at = now() WHERE id = $1', [id]);
      await db.end();
      await lagging.stop();
    }
  });
});

describe('GET /admin/queues', () => {
  it('when called without a token, then 401; with a non-admin token, or an admin token whose account does not exist, then 403', async () => {
    const { tokenFor } = await import('../support/app');
    expectProblem(await raw(`${api.url}/admin/queues`), 401, 'unauthenticated');
    expectProblem(await raw(`${api.url}/admin/queues`, { headers: { authorization: `Bearer ${tokenFor(api.config, ['user'])}` } }), 403, 'forbidden');
    // Well signed and claiming admin, but no such account: the role is checked on the account too.
    const phantom = { authorization: `Bearer ${tokenFor(api.config, ['admin'])}` };
    expectProblem(await raw(`${api.url}/admin/queues`, { headers: phantom }), 403, 'forbidden');
    expectProblem(await raw(`${api.url}/admin/queues/api/queues`, { headers: phantom }), 403, 'forbidden');
  });
});

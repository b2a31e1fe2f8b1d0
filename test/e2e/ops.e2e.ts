import { describe, expect, it } from 'vitest';
import { E2E, expectProblem, invalidToken, ops, outcome, sendInvalid } from './support';

describe('operational routes', () => {
  it('when the process runs, then /health/live answers ok without checking dependencies', async () => {
    const { data, response } = await ops().GET('/health/live');
    expect(response.status).toBe(200);
    expect(data).toEqual({ status: 'ok', checks: {} });
  });

  it('when the dependencies answer, then /health/ready is 200 and names each check', async () => {
    const { data, response } = await ops().GET('/health/ready');
    expect(response.status).toBe(200);
    expect(['ok', 'degraded']).toContain(data!.status);
    for (const name of ['postgres', 'redis', 'rabbitmq']) expect(data!.checks[name]).toMatchObject({ status: 'up' });
  });

  it('when scraped after API traffic, then /metrics exposes the request histogram labelled by operation', async () => {
    const { data, response } = await ops().GET('/metrics', { parseAs: 'text' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(data).toMatch(/http_request_duration_seconds_bucket\{[^}]*operation_id="\w+"/);
  });

  it('when /openapi.json is fetched, then it is the public OpenAPI 3.1 bundle, without internal operations', async () => {
    const { data, response } = await ops().GET('/openapi.json');
    expect(response.status).toBe(200);
    const doc = data as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/products/categories');
    expect(Object.keys(doc.paths)).not.toContain('/metrics');
    expect(JSON.stringify(doc)).not.toContain('x-internal');
  });

  it('when /openapi.yaml and /docs are fetched, then they serve the same description as YAML and as a Redoc page', async () => {
    const yaml = await ops().GET('/openapi.yaml', { parseAs: 'text' });
    expect(yaml.response.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(yaml.data).toMatch(/^openapi: 3\.1\.0/m);
    const docs = await ops().GET('/docs', { parseAs: 'text' });
    expect(docs.response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(docs.data).toContain('<html');
  });

  it('when an ops route gets a query parameter, then it is a 400', async () => {
    for (const route of ['/health/live', '/health/ready', '/metrics', '/openapi.json']) {
      expectProblem(await sendInvalid('ops', `${route}?verbose=1`), 400, 'validation_failed');
    }
  });
});

describe('GET /admin/queues', () => {
  it('when an admin asks, then the job board page is served', async () => {
    const { data, response } = await ops({ token: E2E.adminToken }).GET('/admin/queues', { parseAs: 'text' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(data).toContain('<html');
  });

  it('when no token is sent, then it is a 401', async () => {
    expectProblem(await sendInvalid('ops', '/admin/queues'), 401, 'unauthenticated');
  });

  it('when the token is invalid, then it is a 401; when the caller is not an admin, a 403', async () => {
    expectProblem(outcome(await ops({ token: invalidToken }).GET('/admin/queues', { parseAs: 'text' })), 401, 'unauthenticated');
    expectProblem(outcome(await ops({ token: E2E.userToken }).GET('/admin/queues', { parseAs: 'text' })), 403, 'forbidden');
  });
});

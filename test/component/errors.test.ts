import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { categoryId } from '../../src/modules/categories/domain/category-id';
import { startTestApi, tokenFor, type TestApi } from '../support/app';
import { startBareApp } from '../support/bare-app';
import { expectProblem, raw } from '../support/http';

let api: TestApi;
const category = categoryId('digital');

beforeAll(async () => {
  api = await startTestApi({ BODY_LIMIT: '2kb' });
});
afterAll(() => api.stop());

const patch = (body: string, headers: Record<string, string> = {}) =>
  raw(`${api.url}/v1/products/categories/${category}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenFor(api.config, ['admin'])}`, ...headers },
    body,
  });

describe('error responses', () => {
  it('when the path is unknown, inside or outside /v1, then 404 not_found', async () => {
    for (const path of ['/v1/nothing-here', '/v1/products/categories/extra/segments', '/nothing-here']) {
      const res = await raw(`${api.url}${path}`);
      expectProblem(res, 404, 'not_found');
      expect(res.json.instance).toBe(path);
    }
  });

  it('when the method is not supported, then 405 with Allow', async () => {
    const res = await raw(`${api.url}/v1/products/categories`, { method: 'DELETE' });
    expectProblem(res, 405, 'method_not_allowed');
    expect(res.headers.get('allow')).toContain('GET');
    const ops = await raw(`${api.url}/health/live`, { method: 'POST' });
    expectProblem(ops, 405, 'method_not_allowed');
    expect(ops.headers.get('allow')).toContain('GET');
  });

  it('when the JSON body is malformed or over the limit, then 400 malformed_json / 413 payload_too_large, counted by the rate limit like any request', async () => {
    // One caller (one token, so one rate-limit bucket) for both.
    const caller = { authorization: `Bearer ${tokenFor(api.config, ['admin'])}` };
    const malformed = await patch('{"name": "x"', caller);
    expectProblem(malformed, 400, 'malformed_json');
    const tooLarge = await patch(JSON.stringify({ name: 'x'.repeat(4000) }), caller);
    expectProblem(tooLarge, 413, 'payload_too_large');
    // Both counted in the caller's window: the second's remaining quota is below the first's.
    const remaining = (res: typeof malformed) => Number(/\br=(\d+)/.exec(res.headers.get('ratelimit') ?? '')?.[1]);
    expect(malformed.headers.get('ratelimit-policy')).toMatch(/; ?w=\d+/);
    expect(remaining(tooLarge)).toBeLessThan(remaining(malformed));
  });

  it('when the body has an unknown or read-only field, then 400 with each field pointer, and nothing is stored', async () => {
    const res = await patch(JSON.stringify({ name: '바뀌면 안 됨', slug: 'hacked', is_admin: true }));
    expectProblem(res, 400, 'validation_failed');
    expect(res.json.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ pointer: '/slug', code: 'unknown_field' }),
        expect.objectContaining({ pointer: '/is_admin', code: 'unknown_field' }),
      ]),
    );
    const now = await api.client().GET('/products/categories/{category_id}', { params: { path: { category_id: category } } });
    expect(now.data!.name).toBe('디지털기기');
    expect(now.data!.slug).toBe('digital');
  });

  it('when a body field has the wrong type or is too long, then 400 with its pointer and a specific code', async () => {
    const res = await patch(JSON.stringify({ name: 5, sort_order: 'first' }));
    expectProblem(res, 400, 'validation_failed');
    expect(res.json.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ pointer: '/name', code: 'invalid_type' }),
        expect.objectContaining({ pointer: '/sort_order', code: 'invalid_type' }),
      ]),
    );
    const long = await patch(JSON.stringify({ name: '가'.repeat(51) }));
    expect(long.json.errors).toEqual([expect.objectContaining({ pointer: '/name', code: 'too_long' })]);
  });

  it('when a query parameter has the wrong type, is out of range or is unknown, then 400 with parameter and in', async () => {
    const cases: [string, string, string][] = [
      ['max_depth=deep', 'max_depth', 'invalid_type'],
      ['max_depth=6', 'max_depth', 'out_of_range'],
      ['page=2', 'page', 'unknown_parameter'],
    ];
    for (const [query, parameter, code] of cases) {
      const res = await raw(`${api.url}/v1/products/categories?${query}`);
      expectProblem(res, 400, 'validation_failed');
      expect(res.json.errors).toEqual([expect.objectContaining({ parameter, in: 'query', code })]);
    }
  });

  it('when the body is over the limit, then 413 payload_too_large', async () => {
    expectProblem(await patch(JSON.stringify({ name: 'x'.repeat(4000) })), 413, 'payload_too_large');
  });

  it('when the content type is not JSON, then 415 unsupported_media_type', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      expectProblem(await patch('name=x', { 'content-type': type }), 415, 'unsupported_media_type');
    }
  });

  it('when a client sends a sane X-Request-Id, then it is echoed in Request-Id and the problem; an unsafe one is replaced', async () => {
    const mine = await raw(`${api.url}/v1/nothing`, { headers: { 'X-Request-Id': 'client-abc.123_x' } });
    expect(mine.headers.get('request-id')).toBe('client-abc.123_x');
    expect(mine.json.request_id).toBe('client-abc.123_x');
    const unsafe = await raw(`${api.url}/v1/nothing`, { headers: { 'X-Request-Id': 'bad id\twith<script>' } });
    expect(unsafe.headers.get('request-id')).toMatch(/^req_/);
  });
});

describe('unexpected failures', () => {
  const logLines: Record<string, unknown>[] = [];
  let app: Awaited<ReturnType<typeof startBareApp>>;
  let base: string;

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
        done();
      },
    });
    app = await startBareApp({
      logTo: sink,
      handlers: {
        listProductCategories: async () => {
          throw new Error('connect ECONNREFUSED 10.0.0.7:5432 at /srv/junggo/src/secret.ts SELECT * FROM users');
        },
        // A handler that breaks the contract: response validation must catch it in tests.
        getProductCategory: async () => ({ status: 200, headers: { ETag: '"x"', 'Cache-Control': 'no-store' }, body: { id: 42 } as never }),
      },
    });
    base = app.base;
  });
  afterAll(() => app.stop());

  it('when a handler throws, then 500 internal_error with a generic detail and the request id, and the log has the full error', async () => {
    const res = await raw(`${base}/v1/products/categories`);
    expectProblem(res, 500, 'internal_error');
    expect(res.text).not.toMatch(/ECONNREFUSED|10\.0\.0\.7|\/srv\/|secret|SELECT|at .*\.ts/);
    expect(res.json.detail).toBe('An unexpected error occurred. Quote the request id to support.');
    expect(Object.keys(res.json).sort()).toEqual(['code', 'detail', 'instance', 'request_id', 'status', 'title', 'type']);
    const logged = logLines.find((l) => l.msg === 'unhandled error');
    expect(JSON.stringify(logged)).toContain('ECONNREFUSED');
    expect(JSON.stringify(logged)).toContain('stack');
    // Every line written for this request carries its id: the error and the access-log line.
    const mine = logLines.filter((l) => l.request_id === res.json.request_id).map((l) => l.msg);
    expect(mine).toEqual(expect.arrayContaining(['unhandled error', 'request failed']));
  });

  it('when a response departs from the spec, then tests see a 500 and the log says to update the spec or the code', async () => {
    const res = await raw(`${base}/v1/products/categories/${category}`);
    expectProblem(res, 500, 'internal_error');
    expect(logLines.some((l) => String(l.msg).includes('update the spec or the code'))).toBe(true);
  });
});

describe('odd requests', () => {
  it('when a body claims an encoding it does not have, then 400 invalid_request_body, not a 500', async () => {
    for (const encoding of ['gzip', 'deflate', 'br']) {
      expectProblem(await patch('{"name":"x"}', { 'content-encoding': encoding }), 400, 'invalid_request_body');
    }
  });

  it('when a query parameter name is bracketed or undeclared, or an integer is not written as one, then 400', async () => {
    for (const query of ['%5Ba=1', 'a%5Bb%5D=1', 'max_depth%5Bx%5D=1', 'max_depth=Infinity', 'max_depth=1e0', 'max_depth=0x1', 'max_depth=%201']) {
      const res = await raw(`${api.url}/v1/products/categories?${query}`);
      expectProblem(res, 400, 'validation_failed');
    }
  });
});

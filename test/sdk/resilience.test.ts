import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { webcrypto } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createJunggoClient, JunggoApiError, unwrap, type JunggoClientOptions, type Problem } from '../../sdk';
import { parseRetryAfter, randomIdempotencyKey } from '../../sdk/transport';

// What the app cannot produce yet (identity endpoints, idempotent POSTs, 503s on demand) comes
// from a tiny server scripted per test. Its operations, typed the way openapi-typescript writes them:
type NoParams = { query?: never; header?: never; path?: never; cookie?: never };
type Json<T> = { headers: { [name: string]: unknown }; content: { 'application/json': T } };
type ProblemResponse = { headers: { [name: string]: unknown }; content: { 'application/problem+json': Problem } };
interface Thing {
  id: string;
  name: string;
}
interface TestPaths {
  '/things': {
    parameters: NoParams;
    get: { parameters: NoParams; requestBody?: never; responses: { 200: Json<{ data: Thing[] }>; default: ProblemResponse } };
    post: {
      parameters: { query?: never; header?: { 'Idempotency-Key'?: string }; path?: never; cookie?: never };
      requestBody: { content: { 'application/json': { name: string } } };
      responses: { 201: Json<Thing>; default: ProblemResponse };
    };
  };
  '/things/{id}': {
    parameters: { query?: never; header?: never; path: { id: string }; cookie?: never };
    patch: {
      parameters: { query?: never; header?: never; path: { id: string }; cookie?: never };
      requestBody: { content: { 'application/json': { name: string } } };
      responses: { 200: Json<Thing>; default: ProblemResponse };
    };
  };
}

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}
interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

let server: Server;
let baseUrl: string;
let seen: Seen[];
let answer: (req: Seen, index: number) => Reply;

const problem = (status: number, code: string, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { 'content-type': 'application/problem+json', ...headers },
  body: { type: `https://docs.junggo.example/problems/${code}`, title: code, status, code, request_id: `req_${code}` },
});
const ok = (body: unknown, status = 200): Reply => ({ status, headers: { 'content-type': 'application/json' }, body });

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const s: Seen = { method: req.method!, url: req.url!, headers: req.headers, body, at: Date.now() };
      seen.push(s);
      const reply = answer(s, seen.length - 1);
      res.writeHead(reply.status, reply.headers ?? {});
      res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise((r) => server.close(r)));
beforeEach(() => {
  seen = [];
  answer = () => ok({ data: [] });
});

const client = (opts: Partial<JunggoClientOptions> = {}) => createJunggoClient<TestPaths>({ baseUrl, ...opts });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('bearer auth and refresh', () => {
  it('when three requests meet a 401 at once, then one refresh serves them all and each is resent once with the new token', async () => {
    answer = (req) => (req.headers.authorization === 'Bearer new' ? ok({ data: [] }) : problem(401, 'unauthenticated'));
    let refreshes = 0;
    const c = client({
      accessToken: 'old',
      refresh: async () => {
        refreshes++;
        await new Promise((r) => setTimeout(r, 50));
        return 'new';
      },
    });
    const results = await Promise.all([c.GET('/things'), c.GET('/things'), c.GET('/things')]);
    expect(results.map((r) => r.response.status)).toEqual([200, 200, 200]);
    expect(refreshes).toBe(1);
    expect(seen.map((s) => s.headers.authorization).sort()).toEqual(['Bearer new', 'Bearer new', 'Bearer new', 'Bearer old', 'Bearer old', 'Bearer old']);
    await c.GET('/things');
    expect(seen.at(-1)!.headers.authorization).toBe('Bearer new');
    expect(seen).toHaveLength(7);
  });

  it('when the retried request is a 401 again, then it surfaces without a second refresh', async () => {
    answer = () => problem(401, 'unauthenticated');
    let refreshes = 0;
    const c = client({ accessToken: 'old', refresh: async () => `new-${++refreshes}` });
    const { error, response } = await c.GET('/things');
    expect(response.status).toBe(401);
    expect(error).toMatchObject({ code: 'unauthenticated' });
    expect(refreshes).toBe(1);
    expect(seen.map((s) => s.headers.authorization)).toEqual(['Bearer old', 'Bearer new-1']);
  });

  it('when the refresher resolves to null, then the 401 surfaces and nothing is resent', async () => {
    answer = () => problem(401, 'unauthenticated');
    const c = client({ accessToken: 'old', refresh: async () => null });
    await expect(c.GET('/things').then(unwrap)).rejects.toMatchObject({ status: 401, code: 'unauthenticated', requestId: 'req_unauthenticated' });
    expect(seen).toHaveLength(1);
    expect(c.accessToken).toBe('old');
  });

  it('when a 401 carries another code or a 403 comes back, then no refresh happens', async () => {
    let refreshes = 0;
    const c = client({ accessToken: 'old', refresh: async () => `new-${++refreshes}` });
    answer = () => problem(401, 'mfa_required');
    expect((await c.GET('/things')).response.status).toBe(401);
    answer = () => problem(403, 'forbidden');
    expect((await c.GET('/things')).response.status).toBe(403);
    expect(refreshes).toBe(0);
    expect(seen).toHaveLength(2);
  });

  it('when setAccessToken is called, then the next request carries that token; without one, no Authorization is sent', async () => {
    const c = client();
    await c.GET('/things');
    c.setAccessToken('after-login');
    await c.GET('/things');
    expect(seen.map((s) => s.headers.authorization)).toEqual([undefined, 'Bearer after-login']);
  });
});

describe('Idempotency-Key', () => {
  it('when a POST is sent, then it carries a generated UUID key; a GET carries none', async () => {
    answer = (req) => (req.method === 'POST' ? ok({ id: 'thg_1', name: 'x' }, 201) : ok({ data: [] }));
    const c = client();
    await c.POST('/things', { body: { name: '아이폰' } });
    await c.POST('/things', { body: { name: '아이폰' } });
    await c.GET('/things');
    const [a, b, get] = seen.map((s) => s.headers['idempotency-key']);
    expect(a).toMatch(UUID);
    expect(b).toMatch(UUID);
    expect(a).not.toBe(b);
    expect(get).toBeUndefined();
  });

  it('when a POST meets 409 idempotency_request_in_progress, then it is resent after Retry-After with the same key and body', async () => {
    answer = (_req, i) => (i === 0 ? problem(409, 'idempotency_request_in_progress', { 'retry-after': '1' }) : ok({ id: 'thg_1', name: '아이폰' }, 201));
    const made: string[] = [];
    const c = client({ idempotencyKey: () => (made.push(`key-${made.length}`), made.at(-1)!) });
    const thing = unwrap(await c.POST('/things', { body: { name: '아이폰' } }));
    expect(thing).toEqual({ id: 'thg_1', name: '아이폰' });
    expect(made).toEqual(['key-0']);
    expect(seen.map((s) => s.headers['idempotency-key'])).toEqual(['key-0', 'key-0']);
    expect(seen.map((s) => s.body)).toEqual([JSON.stringify({ name: '아이폰' }), JSON.stringify({ name: '아이폰' })]);
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(980);
  });

  it("when the caller gives a key, then it is sent as is and reused on retries", async () => {
    answer = (_req, i) => (i < 2 ? problem(503, 'unavailable', { 'retry-after': '0' }) : ok({ id: 'thg_1', name: 'x' }, 201));
    const c = client();
    const { response } = await c.POST('/things', { params: { header: { 'Idempotency-Key': 'order-42' } }, body: { name: 'x' } });
    expect(response.status).toBe(201);
    expect(seen.map((s) => s.headers['idempotency-key'])).toEqual(['order-42', 'order-42', 'order-42']);
  });

  it('when crypto.randomUUID is missing (a browser page over plain http), then keys are still v4 UUIDs', () => {
    vi.stubGlobal('crypto', { getRandomValues: <T extends ArrayBufferView>(a: T) => webcrypto.getRandomValues(a as never) as T });
    try {
      const keys = Array.from({ length: 50 }, randomIdempotencyKey);
      for (const key of keys) expect(key).toMatch(UUID);
      expect(new Set(keys).size).toBe(50);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('when keys are turned off, then a POST carries none and a 503 is not retried', async () => {
    answer = () => problem(503, 'unavailable', { 'retry-after': '0' });
    const c = client({ idempotencyKey: false });
    const { response } = await c.POST('/things', { body: { name: 'x' } });
    expect(response.status).toBe(503);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers['idempotency-key']).toBeUndefined();
  });
});

describe('retries', () => {
  it('when a GET meets 503 with Retry-After in seconds, then it waits that long and retries', async () => {
    answer = (_req, i) => (i === 0 ? problem(503, 'unavailable', { 'retry-after': '1' }) : ok({ data: [{ id: 'thg_1', name: 'x' }] }));
    const { data } = await client().GET('/things');
    expect(data?.data).toEqual([{ id: 'thg_1', name: 'x' }]);
    expect(seen).toHaveLength(2);
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(980);
  });

  it('when Retry-After is an HTTP date, then it waits until then', async () => {
    let until = 0;
    answer = (_req, i) => {
      if (i > 0) return ok({ data: [] });
      until = Math.ceil((Date.now() + 1000) / 1000) * 1000; // HTTP dates have whole seconds
      return problem(429, 'rate_limited', { 'retry-after': new Date(until).toUTCString() });
    };
    const { response } = await client().GET('/things');
    expect(response.status).toBe(200);
    expect(seen).toHaveLength(2);
    expect(seen[1]!.at).toBeGreaterThanOrEqual(until - 20);
  });

  it('when every attempt is a 503, then it stops after maxAttempts and returns the last 503', async () => {
    answer = () => problem(503, 'unavailable', { 'retry-after': '0' });
    const e = await client({ retry: { maxAttempts: 4 } })
      .GET('/things')
      .then(unwrap)
      .catch((err: unknown) => err);
    expect(e).toBeInstanceOf(JunggoApiError);
    expect(e).toMatchObject({ status: 503, code: 'unavailable' });
    expect(seen).toHaveLength(4);
  });

  it('when no Retry-After is given, then it backs off within maxDelayMs and stops at the default 3 attempts', async () => {
    answer = () => problem(429, 'rate_limited');
    const started = Date.now();
    const { response } = await client({ retry: { maxDelayMs: 50 } }).GET('/things');
    expect(response.status).toBe(429);
    expect(seen).toHaveLength(3);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('when Retry-After asks for more than maxDelayMs, then the response surfaces at once', async () => {
    answer = () => problem(503, 'unavailable', { 'retry-after': '30' });
    const started = Date.now();
    const { response } = await client({ retry: { maxDelayMs: 2000 } }).GET('/things');
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('30');
    expect(seen).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('when the status is 500, 502, 409 with another code or 400, then nothing is retried', async () => {
    const c = client();
    for (const reply of [problem(500, 'internal_error'), problem(502, 'bad_gateway'), problem(409, 'product_not_available'), problem(400, 'validation_failed')]) {
      answer = () => reply;
      seen = [];
      const { response } = await c.POST('/things', { body: { name: 'x' } });
      expect(response.status).toBe(reply.status);
      expect(seen).toHaveLength(1);
    }
  });

  it('when a PATCH meets a 503, then it is not retried (PATCH is not idempotent)', async () => {
    answer = () => problem(503, 'unavailable', { 'retry-after': '0' });
    const { response } = await client().PATCH('/things/{id}', { params: { path: { id: 'thg_1' } }, body: { name: 'y' } });
    expect(response.status).toBe(503);
    expect(seen).toHaveLength(1);
  });

  it('when the caller aborts during a Retry-After wait, then the call rejects at once without another attempt', async () => {
    answer = () => problem(503, 'unavailable', { 'retry-after': '5' });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('user left the page')), 100);
    await expect(client().GET('/things', { signal: controller.signal })).rejects.toThrow('user left the page');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(seen).toHaveLength(1);
  });
});

describe('errors that are not problem+json', () => {
  it('when a proxy answers 502 with HTML, then the error has code unexpected_response and keeps the status', async () => {
    answer = () => ({ status: 502, headers: { 'content-type': 'text/html', 'request-id': 'req_edge' }, body: undefined });
    const e = await client()
      .GET('/things')
      .then(unwrap)
      .catch((err: unknown) => err);
    expect(e).toBeInstanceOf(JunggoApiError);
    expect(e).toMatchObject({ status: 502, code: 'unexpected_response', requestId: 'req_edge', errors: [] });
  });
});

describe('parseRetryAfter', () => {
  it('when given seconds, an HTTP date, a past date or garbage, then it returns milliseconds or undefined', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('-1', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

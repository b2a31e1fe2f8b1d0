import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJunggoClient, JunggoApiError, unwrap, type FetchLike } from '../../sdk';
import { signAccessToken } from '../../src/platform/http/auth';
import { categoryId } from '../../src/modules/categories/domain/category-id';
import { startTestApi, tokenFor, uniqueIp, type TestApi } from '../support/app';
import { staffAccounts } from '../support/identity';

/** A fetch that records what the SDK sent and got, attempt by attempt. */
function recordingFetch() {
  const calls: { method: string; url: string; authorization: string | null; body: string; status: number; sentAt: number; receivedAt: number; retryAfter: string | null }[] = [];
  const fetch: FetchLike = async (request) => {
    const sentAt = Date.now();
    const body = await request.clone().text();
    const response = await globalThis.fetch(request);
    calls.push({
      method: request.method,
      url: request.url,
      authorization: request.headers.get('authorization'),
      body,
      status: response.status,
      sentAt,
      receivedAt: Date.now(),
      retryAfter: response.headers.get('retry-after'),
    });
    return response;
  };
  return { fetch, calls };
}

/** Catches what `fn` throws, failing the test when it does not throw a JunggoApiError. */
async function apiError(fn: () => Promise<unknown>): Promise<JunggoApiError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof JunggoApiError) return e;
    throw e;
  }
  throw new Error('expected a JunggoApiError, got a result');
}

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

describe('SDK against the real app: data and typed errors', () => {
  it('when an operation succeeds, then unwrap returns the typed body', async () => {
    const tree = unwrap(await api.client().GET('/products/categories', { params: { query: { max_depth: 0 } } }));
    expect(tree.object).toBe('list');
    expect(tree.data.length).toBeGreaterThanOrEqual(12);
    expect(tree.data.every((c) => c.depth === 0 && c.children.length === 0)).toBe(true);
    const digital = unwrap(await api.client().GET('/products/categories/{category_id}', { params: { path: { category_id: categoryId('digital') } } }));
    expect(digital).toMatchObject({ slug: 'digital', object: 'category', parent_id: null });
  });

  it('when the category does not exist, then unwrap throws a JunggoApiError 404 not_found carrying the request id', async () => {
    const result = await api.client().GET('/products/categories/{category_id}', { params: { path: { category_id: 'cat_0000000000000000' } } });
    const e = await apiError(async () => unwrap(result));
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('JunggoApiError');
    expect(e).toMatchObject({ status: 404, code: 'not_found', errors: [] });
    expect(e.title).toEqual(expect.any(String));
    expect(e.requestId).toMatch(/^req_/);
    expect(e.requestId).toBe(result.response.headers.get('request-id'));
    expect(e.problem.type).toMatch(/^https:\/\//);
    expect(e.problem.instance).toBe('/v1/products/categories/cat_0000000000000000');
    expect(e.message).toContain('404 not_found');
    expect(e.response?.status).toBe(404);
  });

  it('when a query parameter is out of range, then the error lists the field problem in errors[]', async () => {
    const client = api.client();
    // The spec's 0..5 bound is not in the TypeScript type; the cast documents that we send a bad value on purpose.
    const e = await apiError(async () => unwrap(await client.GET('/products/categories', { params: { query: { max_depth: 9 as unknown as number } } })));
    expect(e.status).toBe(400);
    expect(e.code).toBe('validation_failed');
    expect(e.errors).toEqual([expect.objectContaining({ parameter: 'max_depth', in: 'query', code: 'out_of_range' })]);
    expect(e.problem.errors).toBe(e.errors);
  });

  it('when the error is caught, then callers can branch on instanceof and code', async () => {
    const lookup = async (id: string) => {
      try {
        return unwrap(await api.client().GET('/products/categories/{category_id}', { params: { path: { category_id: id } } })).name;
      } catch (e) {
        if (e instanceof JunggoApiError && e.code === 'not_found') return null;
        throw e;
      }
    };
    expect(await lookup(categoryId('digital'))).toBe('디지털기기');
    expect(await lookup('cat_0000000000000000')).toBeNull();
    await expect(lookup('not-an-id')).rejects.toMatchObject({ status: 400, code: 'validation_failed' });
  });
});

describe('SDK against the real app: bearer auth and refresh', () => {
  const expired = () => signAccessToken({ sub: 'usr_sdk', sid: 'ses_sdk', roles: ['admin'] }, { secret: api.config.JWT_SECRET, issuer: api.config.JWT_ISSUER }, -10);

  it('when the access token has expired, then the SDK refreshes once and the retried request succeeds with the new token', async () => {
    const stale = expired();
    const fresh = tokenFor(api.config);
    let refreshes = 0;
    const { fetch, calls } = recordingFetch();
    const client = api.client({ token: stale, fetch, refresh: async () => (refreshes++, fresh) });
    const tree = unwrap(await client.GET('/products/categories', { params: { query: { max_depth: 0 } } }));
    expect(tree.object).toBe('list');
    expect(refreshes).toBe(1);
    expect(calls.map((c) => [c.status, c.authorization])).toEqual([
      [401, `Bearer ${stale}`],
      [200, `Bearer ${fresh}`],
    ]);
    expect(client.accessToken).toBe(fresh);
    // The next request carries the refreshed token from the start.
    await client.GET('/products/categories', { params: { query: { max_depth: 0 } } });
    expect(calls[2]).toMatchObject({ status: 200, authorization: `Bearer ${fresh}` });
    expect(refreshes).toBe(1);
  });

  it('when a PATCH meets a 401, then it is resent after the refresh with its body and headers intact', async () => {
    const { fetch, calls } = recordingFetch();
    const [admin] = await staffAccounts('admin');
    const client = api.client({ token: expired(), fetch, refresh: async () => admin!.token });
    // A missing category: the retried PATCH must pass auth and validation (body resent) to reach the 404.
    const e = await apiError(async () =>
      unwrap(
        await client.PATCH('/products/categories/{category_id}', {
          params: { path: { category_id: 'cat_0000000000000000' }, header: { 'If-Match': '"whatever"' } },
          body: { name: '바꾼 이름' },
        }),
      ),
    );
    expect(e).toMatchObject({ status: 404, code: 'not_found' });
    expect(calls.map((c) => c.status)).toEqual([401, 404]);
    expect(calls[1]!.body).toBe(JSON.stringify({ name: '바꾼 이름' }));
    expect(calls[1]!.body).toBe(calls[0]!.body);
  });

  it('when the refresh fails, then the 401 unauthenticated surfaces and the request is not resent', async () => {
    const { fetch, calls } = recordingFetch();
    const client = api.client({ token: 'not-a-jwt', fetch, refresh: async () => Promise.reject(new Error('refresh token revoked')) });
    const e = await apiError(async () => unwrap(await client.GET('/products/categories')));
    expect(e).toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(e.response?.headers.get('www-authenticate')).toBe('Bearer');
    expect(calls.map((c) => c.status)).toEqual([401]);
  });
});

describe('SDK against the real app: rate limits', () => {
  let limited: TestApi;
  beforeAll(async () => {
    limited = await startTestApi({ RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW_SECONDS: '2' });
  });
  afterAll(() => limited.stop());

  it('when the budget is spent, then the SDK waits as long as Retry-After says and the retry succeeds', async () => {
    const { fetch, calls } = recordingFetch();
    const client = createJunggoClient({ baseUrl: `${limited.url}/v1`, headers: { 'X-Forwarded-For': uniqueIp() }, fetch, retry: { maxAttempts: 3, maxDelayMs: 5000 } });
    for (let i = 0; i < 3; i++) unwrap(await client.GET('/products/categories', { params: { query: { max_depth: 0 } } }));
    const statuses = calls.map((c) => c.status);
    const first429 = statuses.indexOf(429);
    expect(statuses.slice(0, 3)).toEqual([200, 200, 429]);
    expect(statuses.at(-1)).toBe(200);
    const wait = Number(calls[first429]!.retryAfter);
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(calls[first429 + 1]!.sentAt - calls[first429]!.receivedAt).toBeGreaterThanOrEqual(wait * 1000 - 20);
  });

  it('when Retry-After is longer than maxDelayMs, then the 429 surfaces at once as rate_limited', async () => {
    const { fetch, calls } = recordingFetch();
    const client = createJunggoClient({ baseUrl: `${limited.url}/v1`, headers: { 'X-Forwarded-For': uniqueIp() }, fetch, retry: { maxAttempts: 3, maxDelayMs: 100 } });
    await client.GET('/products/categories', { params: { query: { max_depth: 0 } } });
    await client.GET('/products/categories', { params: { query: { max_depth: 0 } } });
    const started = Date.now();
    const e = await apiError(async () => unwrap(await client.GET('/products/categories', { params: { query: { max_depth: 0 } } })));
    expect(e).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(Number(e.response?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(calls.map((c) => c.status)).toEqual([200, 200, 429]);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

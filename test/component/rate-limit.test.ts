import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, tokenFor, uniqueIp, type TestApi } from '../support/app';
import { expectProblem, raw } from '../support/http';

let a: TestApi;
let b: TestApi;
beforeAll(async () => {
  // Two API processes sharing Redis, with a tiny limit so the window is easy to exhaust.
  a = await startTestApi({ RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_SECONDS: '60' });
  b = await startTestApi({ RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_SECONDS: '60' });
});
afterAll(async () => {
  await a.stop();
  await b.stop();
});

const get = (api: TestApi, headers: Record<string, string>) => raw(`${api.url}/v1/products/categories?max_depth=0`, { headers });

describe('rate limiting', () => {
  it('when a client exceeds the policy, then it gets RateLimit headers counting down and then 429 with Retry-After', async () => {
    const ip = { 'X-Forwarded-For': uniqueIp() };
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await get(a, ip);
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-policy')).toMatch(/q=3; w=60/);
      remaining.push(/r=(\d+)/.exec(res.headers.get('ratelimit')!)![1]!);
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const limited = await get(a, ip);
    expectProblem(limited, 429, 'rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('ratelimit')).toMatch(/r=0/);
    // Another client is unaffected.
    expect((await get(a, { 'X-Forwarded-For': uniqueIp() })).status).toBe(200);
  });

  it('when requests go to two API processes, then they share one budget through Redis', async () => {
    const ip = { 'X-Forwarded-For': uniqueIp() };
    expect((await get(a, ip)).status).toBe(200);
    expect((await get(b, ip)).status).toBe(200);
    expect((await get(a, ip)).status).toBe(200);
    expect((await get(b, ip)).status).toBe(429);
  });

  it('when a user is authenticated, then the budget is per user, whatever address they come from', async () => {
    const token = tokenFor(a.config, []);
    for (let i = 0; i < 3; i++) {
      expect((await get(a, { 'X-Forwarded-For': uniqueIp(), authorization: `Bearer ${token}` })).status).toBe(200);
    }
    expect((await get(a, { 'X-Forwarded-For': uniqueIp(), authorization: `Bearer ${token}` })).status).toBe(429);
  });
});

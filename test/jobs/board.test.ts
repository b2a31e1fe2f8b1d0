import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/platform/logger';
import { accessLog } from '../../src/platform/http/access-log';
import { signAccessToken, type TokenConfig } from '../../src/platform/http/auth';
import { createMetrics } from '../../src/platform/http/metrics';
import { requestId } from '../../src/platform/http/request-id';
import { queueBoardRouter } from '../../src/platform/jobs/board';
import { defineJob } from '../../src/platform/jobs/job-definitions';
import { requireAdmin } from '../../src/platform/jobs/require-admin';
import { TEST_ENV } from '../support/env';
import { expectProblem, raw } from '../support/http';
import { openJobQueues, removeQueues } from './fixtures/harness';

const tokens: TokenConfig = { secret: TEST_ENV.JWT_SECRET, issuer: 'junggo-test' };
const tokenWith = (roles: string[], cfg = tokens) => signAccessToken({ sub: `usr_${randomUUID()}`, sid: `ses_${randomUUID()}`, roles }, cfg);
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('GET /admin/queues (Bull Board behind requireAdmin)', () => {
  const opened = openJobQueues();
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const receipt = defineJob<{ orderId: string }>({ queue: 'receipts', name: 'send-receipt', handle: async () => undefined });
    const refund = defineJob<{ orderId: string }>({ queue: 'refunds', name: 'refund-escrow', handle: async () => undefined });
    await opened.jobs.enqueue(receipt, { orderId: 'ord_1' }, { causationId: 'evt_order_paid_1' });
    // What an e-mail or SMS job carries: a link with its token, an address, a phone number.
    const mail = defineJob<{ userId: string; to: string; link: string; attempts: number }>({ queue: 'receipts', name: 'mail', handle: async () => undefined });
    await opened.jobs.enqueue(mail, { userId: 'usr_1', to: '+821012345678', link: 'https://junggo.example/reset-password?token=pr_SECRET', attempts: 2 }, { causationId: 'evt_reset_1' });
    // The platform's own request-id and access-log middleware, as in app.ts, in front of the board.
    const app = express();
    app.disable('x-powered-by');
    app.use(requestId);
    app.use(accessLog(createLogger('silent', 'board-test'), createMetrics()));
    app.use(queueBoardRouter(opened.jobs.queuesOf([receipt, refund]), { basePath: '/admin/queues', authorize: requireAdmin(tokens) }));
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    await opened.jobs.close(1_000);
    await removeQueues(opened.prefix);
  });

  it('when no token is sent, then 401 unauthenticated as problem+json with a Bearer challenge', async () => {
    const res = await raw(`${base}/admin/queues`);
    expectProblem(res, 401, 'unauthenticated');
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(res.json.detail).toBe('A valid access token is required.');
  });

  it('when the token is signed with another key, then 401 saying the token is invalid', async () => {
    const forged = tokenWith(['admin'], { ...tokens, secret: 'another-secret-0123456789abcdef0123456789' });
    const res = await raw(`${base}/admin/queues`, { headers: bearer(forged) });
    expectProblem(res, 401, 'unauthenticated');
    expect(res.json.detail).toBe('The access token is invalid or expired.');
  });

  it('when the token has no admin role, then 403 forbidden, for the page and for the board API alike', async () => {
    const token = tokenWith(['buyer', 'seller']);
    expectProblem(await raw(`${base}/admin/queues`, { headers: bearer(token) }), 403, 'forbidden');
    expectProblem(await raw(`${base}/admin/queues/api/queues`, { headers: bearer(token) }), 403, 'forbidden');
  });

  it('when an admin token is sent, then the board page is served as HTML', async () => {
    const res = await raw(`${base}/admin/queues`, { headers: bearer(tokenWith(['admin'])) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.text).toContain('<base href="/admin/queues/"');
    // app.ts disables it; the board's own Express app must not put it back.
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('when an admin asks the board API, then it lists every defined queue, including one nothing was enqueued to yet', async () => {
    const res = await raw(`${base}/admin/queues/api/queues`, { headers: bearer(tokenWith(['admin'])) });
    expect(res.status).toBe(200);
    const queues = (res.json as { queues: { name: string; counts: Record<string, number> }[] }).queues;
    expect(queues.map((q) => q.name).sort()).toEqual(['receipts', 'refunds']);
    expect(queues.find((q) => q.name === 'receipts')?.counts).toMatchObject({ waiting: 2 });
    expect(queues.find((q) => q.name === 'refunds')?.counts).toMatchObject({ waiting: 0 });
  });
  it('when an admin reads jobs, then their payloads show ids, numbers and shape but no text (links, addresses, phone numbers); adding or editing a job is 403', async () => {
    const admin = bearer(tokenWith(['admin']));
    const res = await raw(`${base}/admin/queues/api/queues?activeQueue=receipts&status=waiting&page=1&jobsPerPage=10`, { headers: admin });
    expect(res.status).toBe(200);
    const receipts = (res.json as { queues: { name: string; jobs: { id: string; name: string; data: Record<string, unknown> }[] }[] }).queues.find((q) => q.name === 'receipts')!;
    const mailJob = receipts.jobs.find((j) => j.name === 'mail')!;
    expect(mailJob.data).toEqual({ userId: 'usr_1', to: '[redacted]', link: '[redacted]', attempts: 2 });
    expect(res.text).not.toContain('pr_SECRET');
    expect(res.text).not.toContain('+821012345678');
    const one = await raw(`${base}/admin/queues/api/queues/receipts/${mailJob.id}`, { headers: admin });
    expect(one.status).toBe(200);
    expect(one.text).not.toContain('pr_SECRET');

    const json = { ...admin, 'content-type': 'application/json' };
    expectProblem(await raw(`${base}/admin/queues/api/queues/receipts/add`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'mail', data: { to: 'x@example.com' } }) }), 403, 'forbidden');
    expectProblem(await raw(`${base}/admin/queues/api/queues/receipts/${mailJob.id}/update-data`, { method: 'PUT', headers: json, body: JSON.stringify({ jobData: { to: 'x@example.com' } }) }), 403, 'forbidden');
    const after = await raw(`${base}/admin/queues/api/queues`, { headers: admin });
    expect((after.json as { queues: { name: string; counts: Record<string, number> }[] }).queues.find((q) => q.name === 'receipts')?.counts).toMatchObject({ waiting: 2 });
  });
});

import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/platform/jobs/job-definitions';
import { registerQueueMetrics } from '../../src/platform/jobs/queue-metrics';
import { openJobQueues, removeQueues } from './fixtures/harness';

describe('registerQueueMetrics', () => {
  let opened: ReturnType<typeof openJobQueues> | undefined;
  afterEach(async () => {
    await opened?.jobs.close(1_000);
    if (opened) await removeQueues(opened.prefix);
  });

  it('when Prometheus scrapes, then it gets the depth of each queue by state, read at that moment', async () => {
    opened = openJobQueues();
    const { jobs } = opened;
    const registry = new Registry();
    registerQueueMetrics(registry, () => jobs.all());
    const mail = defineJob<object>({ queue: 'mail', name: 'send-mail', handle: async () => undefined });
    const escrow = defineJob<object>({ queue: 'escrow', name: 'release-escrow', handle: async () => undefined });

    await jobs.enqueue(mail, {}, { causationId: 'evt_1' });
    await jobs.enqueue(mail, {}, { causationId: 'evt_2' });
    await jobs.enqueue(escrow, {}, { causationId: 'evt_3', delayMs: 7 * 24 * 3600 * 1000 });
    const first = await registry.metrics();
    await jobs.enqueue(mail, {}, { causationId: 'evt_4' });
    const second = await registry.metrics();

    expect(first).toContain('bull_queue_jobs{queue="mail",state="waiting"} 2');
    expect(first).toContain('bull_queue_jobs{queue="mail",state="delayed"} 0');
    expect(first).toContain('bull_queue_jobs{queue="escrow",state="delayed"} 1');
    expect(first).toContain('bull_queue_jobs{queue="escrow",state="active"} 0');
    expect(first).toContain('bull_queue_jobs{queue="escrow",state="failed"} 0');
    expect(second).toContain('bull_queue_jobs{queue="mail",state="waiting"} 3');
  });
});

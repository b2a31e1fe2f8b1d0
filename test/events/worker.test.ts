import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type RunningWorker } from '../../src/worker';
import { testConfig } from '../support/env';

let worker: RunningWorker;
beforeAll(async () => {
  worker = await startWorker(testConfig({ LOG_LEVEL: 'silent' }));
});
afterAll(() => worker.stop());

describe('the worker', () => {
  it('when running, then its ops server exposes liveness and the outbox, consumer, DLQ and queue metrics', async () => {
    const { port } = worker.opsServer.address() as { port: number };
    const live = await fetch(`http://127.0.0.1:${port}/health/live`);
    expect(live.status).toBe(200);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toMatch(/^outbox_lag_seconds \d+(\.\d+)?(e[-+]?\d+)?$/m);
    expect(text).toContain('# TYPE events_published_total counter');
    expect(text).toMatch(/^consumer_lag_messages\{subscriber="projection\.activity-log"\} \d+$/m);
    expect(text).toMatch(/^dead_letter_messages\{subscriber="projection\.activity-log"\} \d+$/m);
    expect(text).toMatch(/^bull_queue_jobs\{queue="maintenance",state="waiting"\} \d+$/m);
  });

  it('when running, then the daily inbox pruning job is scheduled once for the day however often it is asked', async () => {
    const [queue] = worker.jobs.all().filter((q) => q.name === 'maintenance');
    expect(queue).toBeDefined();
    const day = new Date().toISOString().slice(0, 10);
    const job = await queue!.getJob(`maintenance.prune-inbox|${day}`);
    expect(job).not.toBeNull();
  });
});

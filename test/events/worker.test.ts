import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type RunningWorker } from '../../src/worker';
import { testConfig } from '../support/env';
import { waitFor } from '../support/wait';

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

  it('when running, then the relay publishes on a connection of its own that no subscriber consumes on (a broker alarm blocks publishing connections, acks included)', async () => {
    const rabbitmqctl = <T>(...args: string[]) => JSON.parse(execFileSync('rabbitmqctl', ['-q', ...args, '--formatter', 'json'], { encoding: 'utf8' })) as T;
    const connections = rabbitmqctl<{ name: string; client_properties: [string, string, unknown][] }[]>('list_connections', 'name', 'client_properties');
    const channels = rabbitmqctl<{ name: string; consumer_count: number }[]>('list_channels', 'name', 'consumer_count');
    const named = (name: string) => connections.find((c) => c.client_properties.some(([key, , value]) => key === 'connection_name' && value === `${name} (pid ${process.pid})`))?.name;
    const consumersOn = (connection: string) => channels.filter((c) => c.name.startsWith(`${connection} (`)).reduce((n, c) => n + c.consumer_count, 0);
    const relay = named('junggo-worker-relay');
    const subscribers = named('junggo-worker');
    expect(relay).toBeDefined();
    expect(subscribers).toBeDefined();
    expect(consumersOn(relay!)).toBe(0);
    expect(consumersOn(subscribers!)).toBeGreaterThan(0);
  });

  it('when running, then the daily inbox and idempotency-key pruning and the hourly photo sweep are scheduled under their period as cause (one job per period, whichever worker asks)', async () => {
    const jobOf = async (queueName: string, name: string, periodMs: number) => {
      const [queue] = worker.jobs.all().filter((q) => q.name === queueName);
      expect(queue).toBeDefined();
      // The period's number is the cause: every worker asking in the period names the same job.
      return queue!.getJob(`${name}|${name}:${Math.floor(Date.now() / periodMs)}`);
    };
    const prune = await waitFor('the inbox pruning job', () => jobOf('maintenance', 'maintenance.prune-inbox', 86_400_000));
    const sweep = await waitFor('the photo sweep job', () => jobOf('maintenance', 'product-image.sweep', 3_600_000));
    const keys = await waitFor('the idempotency-key pruning job', () => jobOf('maintenance', 'maintenance.prune-idempotency-keys', 86_400_000));
    expect(prune!.data).toEqual({ retention_days: 30 });
    const ran = await waitFor('the idempotency-key pruning run', async () => {
      const state = await keys!.getState();
      return (state === 'completed' || state === 'failed') && state;
    });
    expect(ran).toBe('completed');
    expect(sweep!.data).toEqual({ grace_seconds: 3600 });
  });
});

import Redis from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/platform/jobs/job-definitions';
import { QueueFactory } from '../../src/platform/queues';
import { TEST_ENV } from '../support/env';
import { openJobQueues, removeQueues, signal } from './fixtures/harness';

describe('JobQueues.close', () => {
  let opened: ReturnType<typeof openJobQueues> | undefined;
  let inspector: QueueFactory | undefined;
  afterEach(async () => {
    await opened?.jobs.close(1_000);
    await inspector?.close(0);
    if (opened) await removeQueues(opened.prefix);
  });

  /** A second, enqueue-only view on the same queues, still open after the worker's factory is closed. */
  const inspect = (name: string) => (inspector = new QueueFactory(TEST_ENV.REDIS_URL, opened!.prefix)).get(name);

  it('when a job is active, then close waits for it to finish and leaves no job active', async () => {
    opened = openJobQueues();
    const { jobs } = opened;
    const started = signal();
    let finishedAt = 0;
    const courierPoll = defineJob<{ trackingNo: string }>({
      queue: 'courier',
      name: 'poll-courier',
      handle: async () => {
        started.resolve();
        await new Promise((r) => setTimeout(r, 600));
        finishedAt = Date.now();
      },
    });
    await jobs.process([courierPoll], { concurrency: 1 });
    const jobId = await jobs.enqueue(courierPoll, { trackingNo: '6001-2345' }, { causationId: 'evt_shipped_1' });
    await started.promise;

    await jobs.close(5_000);
    const closedAt = Date.now();

    expect(finishedAt).toBeGreaterThan(0);
    expect(finishedAt).toBeLessThanOrEqual(closedAt);
    const queue = inspect('courier');
    expect(await (await queue.getJob(jobId))?.getState()).toBe('completed');
    expect(await queue.getActiveCount()).toBe(0);
  });

  it('when a job is active, then close stops taking new jobs: one enqueued meanwhile stays waiting', async () => {
    opened = openJobQueues();
    const { jobs } = opened;
    const started = signal();
    const handled: string[] = [];
    const mail = defineJob<{ to: string }>({
      queue: 'mail',
      name: 'send-mail',
      handle: async (payload) => {
        started.resolve();
        await new Promise((r) => setTimeout(r, 300));
        handled.push(payload.to);
      },
    });
    await jobs.process([mail], { concurrency: 1 });
    await jobs.enqueue(mail, { to: 'a@example.kr' }, { causationId: 'evt_a' });
    await started.promise;

    const closing = jobs.close(5_000);
    const later = await jobs.enqueue(mail, { to: 'b@example.kr' }, { causationId: 'evt_b' });
    await closing;

    expect(handled).toEqual(['a@example.kr']);
    expect(await (await inspect('mail').getJob(later))?.getState()).toBe('waiting');
  });

  it('when a job outlasts the close timeout, then close gives up at the timeout and aborts the handler', async () => {
    opened = openJobQueues();
    const { jobs, lines } = opened;
    const started = signal();
    let abortReason: unknown;
    const stuck = defineJob<object>({
      queue: 'stuck',
      name: 'call-slow-provider',
      handle: (_payload, ctx) =>
        new Promise<void>((resolve) => {
          started.resolve();
          ctx.signal.addEventListener('abort', () => {
            abortReason = ctx.signal.reason;
            resolve();
          });
        }),
    });
    await jobs.process([stuck], { concurrency: 1 });
    const jobId = await jobs.enqueue(stuck, {}, { causationId: 'evt_stuck_1' });
    await started.promise;

    const before = Date.now();
    await jobs.close(300);
    const took = Date.now() - before;

    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(3_000);
    expect((abortReason as Error | undefined)?.message).toBe('worker shutting down');
    expect(lines.find((l) => l.msg === 'queues did not drain in time; aborting running jobs, they will be retried')).toMatchObject({
      jobs: [`stuck/${jobId}`],
    });
    // Not completed: it is either back for a retry or, if the failure did not reach Redis before
    // the connections closed, still active and recovered as stalled by another worker.
    expect(['delayed', 'active']).toContain(await (await inspect('stuck').getJob(jobId))?.getState());
  });

  it('when closed, then every Redis connection it opened is gone, the blocking ones of processed queues included', async () => {
    opened = openJobQueues();
    const { jobs, prefix } = opened;
    const noop = (queue: string) => defineJob<object>({ queue, name: 'noop', handle: async () => undefined });
    await jobs.process([noop('a'), noop('b')], { concurrency: 2 });
    await jobs.enqueue(noop('c'), {}, { causationId: 'evt_c' });
    const admin = new Redis(TEST_ENV.REDIS_URL);
    // The factory names its connections bull:<prefix>; Bull renames a worker's blocking one <prefix>:<queue>.
    const ours = async () =>
      String(await admin.client('LIST'))
        .split('\n')
        .filter((line) => line.includes(` name=bull:${prefix} `) || line.includes(` name=${prefix}:`)).length;
    try {
      // The shared client and subscriber, and one blocking connection per processed queue.
      expect(await ours()).toBe(4);

      await jobs.close(1_000);

      expect(await ours()).toBe(0);
    } finally {
      await admin.quit();
    }
  });
});

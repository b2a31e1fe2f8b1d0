import { afterEach, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/platform/jobs/job-definitions';
import { isTransient } from '../../src/platform/events/subscriber';
import { EnqueueTimeoutError, JobQueues } from '../../src/platform/jobs/job-queues';
import { createLogger } from '../../src/platform/logger';
import { QueueFactory } from '../../src/platform/queues';
import { TEST_ENV } from '../support/env';
import { openJobQueues, removeQueues } from './fixtures/harness';

const sendWelcomeMail = defineJob<{ userId: string }>({
  queue: 'mail',
  name: 'send-welcome-mail',
  handle: async () => {
    throw new Error('not processed in this test');
  },
});

describe('JobQueues.enqueue', () => {
  let opened: ReturnType<typeof openJobQueues> | undefined;
  afterEach(async () => {
    await opened?.jobs.close(1_000);
    if (opened) await removeQueues(opened.prefix);
  });

  it('when Redis does not answer and a timeout is given, then the enqueue gives up with a retryable error instead of waiting for Redis to come back', async () => {
    // Nothing listens on port 1: Bull's connection keeps reconnecting and its commands wait.
    const log = createLogger('silent', 'test');
    const factory = new QueueFactory('redis://127.0.0.1:1/0', `junggo-test-down-${Date.now()}`, { log });
    const jobs = new JobQueues(factory, log);
    try {
      const err = await jobs.enqueue(sendWelcomeMail, { userId: 'usr_1' }, { causationId: 'evt_down', timeoutMs: 300 }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(EnqueueTimeoutError);
      expect(isTransient(err)).toBe(true);
    } finally {
      await factory.close(0);
    }
  });

  it('when the same job is enqueued twice for one cause, then the queue holds one job', async () => {
    opened = openJobQueues();
    const { jobs, factory } = opened;

    const first = await jobs.enqueue(sendWelcomeMail, { userId: 'usr_1' }, { causationId: 'evt_user_registered_1' });
    const again = await jobs.enqueue(sendWelcomeMail, { userId: 'usr_1' }, { causationId: 'evt_user_registered_1' });
    // Two consumers racing on a redelivered event.
    const raced = await Promise.all([1, 2].map(() => jobs.enqueue(sendWelcomeMail, { userId: 'usr_1' }, { causationId: 'evt_user_registered_1' })));

    expect(first).toBe('send-welcome-mail|evt_user_registered_1');
    expect([again, ...raced]).toEqual([first, first, first]);
    const queue = factory.get('mail');
    expect(await queue.getJobCounts()).toMatchObject({ waiting: 1, delayed: 0, active: 0 });
    const job = await queue.getJob(first);
    expect(job?.data).toEqual({ userId: 'usr_1' });
    expect(job?.opts).toMatchObject({ attempts: 5, backoff: { type: 'exponential', delay: 1000 } });
  });

  it('when the cause differs, then each cause gets its own job', async () => {
    opened = openJobQueues();
    const { jobs, factory } = opened;

    const a = await jobs.enqueue(sendWelcomeMail, { userId: 'usr_a' }, { causationId: 'evt_a' });
    const b = await jobs.enqueue(sendWelcomeMail, { userId: 'usr_b' }, { causationId: 'evt_b' });

    expect(a).not.toBe(b);
    expect(await factory.get('mail').getWaitingCount()).toBe(2);
  });

  it('when a delay is given, then the job waits in the delayed set', async () => {
    opened = openJobQueues();
    const { jobs, factory } = opened;

    await jobs.enqueue(sendWelcomeMail, { userId: 'usr_d' }, { causationId: 'evt_d', delayMs: 60_000 });

    expect(await factory.get('mail').getJobCounts()).toMatchObject({ waiting: 0, delayed: 1 });
  });

  it('when the causationId is empty, then enqueue refuses rather than making a job that never dedupes', async () => {
    opened = openJobQueues();
    await expect(opened.jobs.enqueue(sendWelcomeMail, { userId: 'usr_e' }, { causationId: '' })).rejects.toThrow(/causationId/);
  });

  it('when a periodic job is asked for again in its period, also by other processes and after Bull forgot the finished job, then it is added once; the next period adds it again', async () => {
    opened = openJobQueues();
    const { jobs, factory, prefix } = opened;
    const other = new JobQueues(new QueueFactory(TEST_ENV.REDIS_URL, prefix), createLogger('silent', 'test'));
    try {
      const hour = 3_600_000;
      const slot = Math.floor(Date.now() / hour);
      // Racing asks may each add it: the job id makes them one job.
      await Promise.all([jobs, other, jobs, other].map((q) => q.enqueueOncePer(sendWelcomeMail, { userId: 'usr_p' }, hour)));
      const queue = factory.get('mail');
      expect(await queue.getJobCounts()).toMatchObject({ waiting: 1 });
      const [job] = await queue.getWaiting();
      expect(job!.id).toBe(`send-welcome-mail|send-welcome-mail:${slot}`);
      // Once added, the period is marked: later asks add nothing.
      expect(await other.enqueueOncePer(sendWelcomeMail, { userId: 'usr_p' }, hour)).toBe(false);
      // As when removeOnComplete has dropped it: the job id alone would let it be added again.
      await job!.remove();
      expect(await jobs.enqueueOncePer(sendWelcomeMail, { userId: 'usr_p' }, hour)).toBe(false);
      expect(await queue.getJobCounts()).toMatchObject({ waiting: 0 });
      // A period of 1 s: the next one comes soon.
      expect(await jobs.enqueueOncePer(sendWelcomeMail, { userId: 'usr_p' }, 1_000)).toBe(true);
      await new Promise((r) => setTimeout(r, 1_100));
      expect(await jobs.enqueueOncePer(sendWelcomeMail, { userId: 'usr_p' }, 1_000)).toBe(true);
    } finally {
      await other.close(0);
    }
  });
});

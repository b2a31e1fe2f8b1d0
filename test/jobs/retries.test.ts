import { afterEach, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/platform/jobs/job-definitions';
import { openJobQueues, removeQueues, waitFor } from './fixtures/harness';

describe('JobQueues.process: failures', () => {
  let opened: ReturnType<typeof openJobQueues> | undefined;
  afterEach(async () => {
    await opened?.jobs.close(1_000);
    if (opened) await removeQueues(opened.prefix);
  });

  const stateOf = async (queueName: string, jobId: string) => (await opened!.factory.get(queueName).getJob(jobId))?.getState();

  it('when a handler fails twice and then succeeds, then it runs three times with growing backoff and the job completes', async () => {
    opened = openJobQueues();
    const { jobs, factory, lines } = opened;
    const runs: { attempt: number; at: number }[] = [];
    const flakySms = defineJob<{ phone: string }>({
      queue: 'sms',
      name: 'send-sms',
      backoffMs: 100,
      handle: async (_payload, ctx) => {
        runs.push({ attempt: ctx.attempt, at: Date.now() });
        if (runs.length < 3) throw new Error(`provider unavailable (${runs.length})`);
      },
    });
    await jobs.process([flakySms], { concurrency: 1 });

    const jobId = await jobs.enqueue(flakySms, { phone: '010-0000-0000' }, { causationId: 'evt_order_paid_1' });
    await waitFor('the job to complete', async () => (await stateOf('sms', jobId)) === 'completed');

    expect(runs.map((r) => r.attempt)).toEqual([1, 2, 3]);
    // Exponential: 100 ms, then 200 ms (a little slack for millisecond rounding).
    expect(runs[1]!.at - runs[0]!.at).toBeGreaterThanOrEqual(95);
    expect(runs[2]!.at - runs[1]!.at).toBeGreaterThanOrEqual(195);
    const job = await factory.get('sms').getJob(jobId);
    expect(job?.attemptsMade).toBe(2);
    const retries = lines.filter((l) => l.msg === 'job failed; will retry');
    expect(retries).toHaveLength(2);
    expect(retries[0]).toMatchObject({ level: 'warn', queue: 'sms', job: 'send-sms', job_id: jobId, err: { message: 'provider unavailable (1)' } });
    expect(lines.filter((l) => l.msg === 'job failed for good')).toHaveLength(0);
  });

  it('when a handler throws an error marked not retryable, then the job fails at once without spending its attempts', async () => {
    opened = openJobQueues();
    const { jobs } = opened;
    let calls = 0;
    const refused = defineJob<Record<string, never>>({
      queue: 'mail',
      name: 'send-mail',
      attempts: 5,
      backoffMs: 10,
      handle: async () => {
        calls++;
        throw Object.assign(new Error('535 authentication failed'), { retryable: false });
      },
    });
    await jobs.process([refused], { concurrency: 1 });
    const jobId = await jobs.enqueue(refused, {}, { causationId: 'evt_mail_1' });
    await waitFor('the job to fail', async () => (await stateOf('mail', jobId)) === 'failed');
    await new Promise((r) => setTimeout(r, 200));
    expect(calls).toBe(1);
    expect(await stateOf('mail', jobId)).toBe('failed');
  });

  it('when a handler keeps failing, then the job is failed after its attempts and logged as an error', async () => {
    opened = openJobQueues();
    const { jobs, lines } = opened;
    let calls = 0;
    const doomed = defineJob<Record<string, never>>({
      queue: 'push',
      name: 'send-push',
      attempts: 2,
      backoffMs: 10,
      handle: async () => {
        calls++;
        throw new Error('device token revoked');
      },
    });
    await jobs.process([doomed], { concurrency: 1 });

    const jobId = await jobs.enqueue(doomed, {}, { causationId: 'evt_push_1' });
    await waitFor('the job to fail', async () => (await stateOf('push', jobId)) === 'failed');

    expect(calls).toBe(2);
    expect(lines.filter((l) => l.msg === 'job failed for good')).toMatchObject([{ level: 'error', job_id: jobId, attempts_made: 2, attempts: 2 }]);
  });

  it('when a handler outlives its timeout, then its signal is aborted and the attempt fails with a timeout', async () => {
    opened = openJobQueues();
    const { jobs, factory } = opened;
    let aborted: unknown;
    const slowImage = defineJob<{ imageId: string }>({
      queue: 'images',
      name: 'resize-image',
      attempts: 1,
      timeoutMs: 100,
      handle: (_payload, ctx) =>
        new Promise<void>((resolve) =>
          ctx.signal.addEventListener('abort', () => {
            aborted = ctx.signal.reason;
            resolve();
          }),
        ),
    });
    await jobs.process([slowImage], { concurrency: 1 });

    const jobId = await jobs.enqueue(slowImage, { imageId: 'img_1' }, { causationId: 'evt_listing_photo_1' });
    await waitFor('the job to fail', async () => (await stateOf('images', jobId)) === 'failed');

    expect(aborted).toBeInstanceOf(Error);
    expect((aborted as Error).name).toBe('JobTimeoutError');
    expect((await factory.get('images').getJob(jobId))?.failedReason).toBe("job 'resize-image' timed out after 100 ms");
  });

  it('when a job fails for good (attempts used up, or a timeout its handler never saw end), then its onFailedForGood runs once with the payload; a retried failure does not run it', async () => {
    opened = openJobQueues();
    const { jobs, factory } = opened;
    const gaveUp: string[] = [];
    let calls = 0;
    const photo = defineJob<{ imageId: string; hang?: boolean }>({
      queue: 'photos',
      name: 'process-photo',
      attempts: 2,
      backoffMs: 10,
      timeoutMs: 100,
      handle: async (payload) => {
        calls++;
        if (payload.hang) await new Promise(() => undefined); // never settles: only the timeout ends it
        throw new Error('storage unavailable');
      },
      onFailedForGood: async (payload) => void gaveUp.push(payload.imageId),
    });
    await jobs.process([photo], { concurrency: 2 });

    const failing = await jobs.enqueue(photo, { imageId: 'img_failing' }, { causationId: 'img_failing' });
    const hanging = await jobs.enqueue(photo, { imageId: 'img_hanging', hang: true }, { causationId: 'img_hanging' });
    await waitFor('both jobs to fail', async () => (await stateOf('photos', failing)) === 'failed' && (await stateOf('photos', hanging)) === 'failed');
    await waitFor('both hooks', async () => gaveUp.length === 2);
    expect(gaveUp.sort()).toEqual(['img_failing', 'img_hanging']);
    expect(calls).toBe(4);
    expect((await factory.get('photos').getJob(hanging))?.failedReason).toBe("job 'process-photo' timed out after 100 ms");
    expect(await jobs.state(photo, 'img_failing')).toBe('failed');
    expect(await jobs.state(photo, 'img_never')).toBeNull();
  });

  it('when a job name has no handler in this worker, then the attempt fails and is retried rather than lost', async () => {
    opened = openJobQueues();
    const { jobs, factory } = opened;
    const known = defineJob<object>({ queue: 'mixed', name: 'known', handle: async () => undefined });
    const unknown = defineJob<object>({ queue: 'mixed', name: 'from-a-newer-release', backoffMs: 60_000, handle: async () => undefined });
    await jobs.process([known], { concurrency: 1 });

    const jobId = await jobs.enqueue(unknown, {}, { causationId: 'evt_new_1' });
    await waitFor('the job to be scheduled for retry', async () => (await stateOf('mixed', jobId)) === 'delayed');

    const job = await factory.get('mixed').getJob(jobId);
    expect(job?.failedReason).toMatch(/no handler for job 'from-a-newer-release'/);
    expect(job?.attemptsMade).toBe(1);
  });
});

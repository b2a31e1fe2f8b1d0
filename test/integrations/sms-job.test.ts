import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { sendSmsJob } from '../../src/integrations/sms/jobs';
import { createSensSmsSender } from '../../src/integrations/sms/sens-client';
import { startSmsSimulator, type SmsSimulator } from '../../src/integrations/sms/sms-simulator';
import { createLogger } from '../../src/platform/logger';
import { openJobQueues, removeQueues, waitFor } from '../jobs/fixtures/harness';

describe('sms.send job, through Bull to the SENS simulator', () => {
  let sim: SmsSimulator;
  let opened: ReturnType<typeof openJobQueues> | undefined;
  afterEach(async () => {
    await opened?.jobs.close(1_000);
    if (opened) await removeQueues(opened.prefix);
    opened = undefined;
    await sim.stop();
  });

  const senderFor = (s: SmsSimulator) =>
    createSensSmsSender({ baseUrl: s.url, accessKey: s.accessKey, secretKey: s.secretKey, serviceId: s.serviceId, from: '0212345678' });
  const start = async () => {
    sim = await startSmsSimulator({ port: 0 });
    opened = openJobQueues();
    const job = sendSmsJob(senderFor(sim), { backoffMs: 50 });
    await opened.jobs.process([job], { concurrency: 1 });
    return { job, jobs: opened.jobs, queue: opened.factory.get('sms') };
  };
  // A unique number per test, so that assertions only see this test's messages.
  const phone = () => `+8210${String(randomBytes(4).readUInt32BE() % 100_000_000).padStart(8, '0')}`;
  const national = (e164: string) => `0${e164.slice(3)}`;
  const cause = () => `evt_phone_verification_${randomBytes(4).toString('hex')}`;

  it('when SENS fails twice, then the job retries and the SMS is sent once', async () => {
    const { job, jobs, queue } = await start();
    sim.failNext(2, 503);
    const to = phone();

    const jobId = await jobs.enqueue(job, { to, text: '[중고] 인증번호 482913' }, { causationId: cause() });
    await waitFor('the job to complete', async () => (await (await queue.getJob(jobId))?.getState()) === 'completed');

    expect(sim.requests().map((r) => r.status)).toEqual([503, 503, 202]);
    expect(sim.messages().filter((m) => m.to === national(to)).map((m) => m.content)).toEqual(['[중고] 인증번호 482913']);
    expect((await queue.getJob(jobId))?.attemptsMade).toBe(2);
    const retries = opened!.lines.filter((l) => l.msg === 'job failed; will retry');
    expect(retries).toHaveLength(2);
    expect(retries[0]).toMatchObject({ job: 'sms.send', err: { message: 'SENS answered 503: Endpoint Error' } });
    expect(opened!.lines.find((l) => l.msg === 'sms sent')).toMatchObject({ to: `${to.slice(0, 5)}****${to.slice(-4)}`, type: 'SMS' });
  });

  it('when the same cause is enqueued twice, then Bull holds one job and one SMS is sent', async () => {
    const { job, jobs, queue } = await start();
    const to = phone();
    const causationId = cause();

    const first = await jobs.enqueue(job, { to, text: '인증번호 111111' }, { causationId });
    const again = await jobs.enqueue(job, { to, text: '인증번호 111111' }, { causationId });
    await waitFor('the job to complete', async () => (await (await queue.getJob(first))?.getState()) === 'completed');
    await new Promise((r) => setTimeout(r, 300));

    expect(again).toBe(first);
    expect(sim.messages().filter((m) => m.to === national(to))).toHaveLength(1);
  });

  it('when an attempt runs again after SENS accepted it, then a second SMS is sent: SENS has no idempotency key', async () => {
    sim = await startSmsSimulator({ port: 0 });
    const job = sendSmsJob(senderFor(sim));
    const to = phone();
    // What a worker killed between SENS's 202 and Bull's "completed" leads to: the same job, run again.
    const ctx = { jobId: 'sms.send|evt_killed_worker', attempt: 1, signal: new AbortController().signal, log: createLogger('silent', 'test') };

    await job.handle({ to, text: '인증번호 222222' }, ctx);
    await job.handle({ to, text: '인증번호 222222' }, { ...ctx, attempt: 2 });

    const copies = sim.messages().filter((m) => m.to === national(to));
    expect(copies).toHaveLength(2);
    expect(copies[0]!.requestId).not.toBe(copies[1]!.requestId);
  });
});

import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { sendEmailJob } from '../../src/integrations/email/jobs';
import { messageIdFor, type Mailer } from '../../src/integrations/email/mailer';
import { createSmtpMailer } from '../../src/integrations/email/smtp-mailer';
import { startSmtpSimulator, type SmtpSimulator } from '../../src/integrations/email/smtp-simulator';
import { verifyEmail } from '../../src/integrations/email/templates';
import { createLogger } from '../../src/platform/logger';
import { openJobQueues, removeQueues, waitFor } from '../jobs/fixtures/harness';

const FROM = 'Junggo <no-reply@junggo.test>';

describe('email.send job, through Bull to the SMTP simulator', () => {
  let sim: SmtpSimulator;
  let mailer: Mailer;
  let opened: ReturnType<typeof openJobQueues> | undefined;
  afterEach(async () => {
    await opened?.jobs.close(1_000);
    if (opened) await removeQueues(opened.prefix);
    opened = undefined;
    await mailer.close();
    await sim.stop();
  });

  const start = async () => {
    sim = await startSmtpSimulator({ port: 0 });
    mailer = createSmtpMailer({ url: sim.url, from: FROM });
    opened = openJobQueues();
    const job = sendEmailJob(mailer, { backoffMs: 50 });
    await opened.jobs.process([job], { concurrency: 1 });
    return { job, jobs: opened.jobs, queue: opened.factory.get('email') };
  };
  const mailTo = (to: string) => ({ to, ...verifyEmail({ nickname: '민지', link: 'https://junggo.test/verify?token=t' }) });
  const cause = () => `evt_user_registered_${randomBytes(4).toString('hex')}`;

  it('when the relay fails twice, then the job retries and delivers once, every attempt carrying the job id as Message-ID', async () => {
    const { job, jobs, queue } = await start();
    sim.failNext(2);
    const to = `retry-${cause()}@example.com`;

    const jobId = await jobs.enqueue(job, mailTo(to), { causationId: cause() });
    await waitFor('the job to complete', async () => (await (await queue.getJob(jobId))?.getState()) === 'completed');

    const expected = messageIdFor(jobId, 'junggo.test');
    expect(sim.rejected().map((m) => m.messageId)).toEqual([expected, expected]);
    expect(sim.messages().filter((m) => m.envelope.to.includes(to)).map((m) => m.messageId)).toEqual([expected]);
    expect((await queue.getJob(jobId))?.attemptsMade).toBe(2);
    expect(opened!.lines.filter((l) => l.msg === 'job failed; will retry')).toHaveLength(2);
    expect(opened!.lines.find((l) => l.msg === 'email sent')).toMatchObject({ category: 'identity.verify-email', to: 'r***@example.com', message_id: expected });
  });

  it('when the same cause is enqueued twice, then Bull holds one job and one message is sent', async () => {
    const { job, jobs, queue } = await start();
    const to = `dedupe-${cause()}@example.com`;
    const causationId = cause();

    const first = await jobs.enqueue(job, mailTo(to), { causationId });
    const again = await jobs.enqueue(job, mailTo(to), { causationId });
    await waitFor('the job to complete', async () => (await (await queue.getJob(first))?.getState()) === 'completed');
    // Room for a second job, if there were one, to be picked up and sent.
    await new Promise((r) => setTimeout(r, 300));

    expect(again).toBe(first);
    expect(sim.messages().filter((m) => m.envelope.to.includes(to))).toHaveLength(1);
    expect(await queue.getJobCounts()).toMatchObject({ waiting: 0, active: 0, delayed: 0, failed: 0 });
  });

  it('when an attempt runs again after the relay accepted it, then SMTP relays a second copy with the same Message-ID (no idempotency in SMTP)', async () => {
    sim = await startSmtpSimulator({ port: 0 });
    mailer = createSmtpMailer({ url: sim.url, from: FROM });
    const job = sendEmailJob(mailer);
    const to = `twice-${cause()}@example.com`;
    // What a worker killed between the 250 and Bull's "completed" leads to: the same job id, run again.
    const ctx = { jobId: 'email.send|evt_killed_worker', attempt: 1, signal: new AbortController().signal, log: createLogger('silent', 'test') };

    await job.handle(mailTo(to), ctx);
    await job.handle(mailTo(to), { ...ctx, attempt: 2 });

    const copies = sim.messages().filter((m) => m.envelope.to.includes(to));
    expect(copies).toHaveLength(2);
    expect(new Set(copies.map((m) => m.messageId))).toEqual(new Set(['<email.send|evt_killed_worker@junggo.test>']));
  });
});

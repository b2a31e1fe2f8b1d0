import { createHash } from 'node:crypto';
import { sendSmsJob, type SmsSender } from '../../../integrations/sms';
import type { JobQueues } from '../../../platform/jobs/job-queues';
import type { SmsOutbox } from './domain/model';

// The API only enqueues: the job's definition needs a sender to run, never to be enqueued.
const enqueueOnly: SmsSender = { send: () => Promise.reject(new Error('SMS is sent by the worker')) };
export const SMS_JOB = sendSmsJob(enqueueOnly);

/** Codes as `sms.send` jobs, one per code: the cause is the code's id, so a retried enqueue is one message. */
export const queuedSms = (jobs: JobQueues): SmsOutbox => ({
  async send(to, text, causationId) {
    await jobs.enqueue(SMS_JOB, { to, text }, { causationId: createHash('sha256').update(causationId).digest('base64url') });
  },
});

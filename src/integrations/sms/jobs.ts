import { defineJob, type JobSpec } from '../../platform/jobs/job-definitions';
import { maskPhone, type SmsMessage, type SmsSender } from './sms-sender';

export type SendSmsPayload = SmsMessage;

type Tuning = Partial<Pick<JobSpec<SendSmsPayload>, 'attempts' | 'backoffMs' | 'timeoutMs'>>;

/**
 * Sends one SMS from the worker, retried with backoff (2 s doubling, five attempts: codes go
 * stale quickly, so giving up after about half a minute beats a late message).
 *
 * SENS takes no idempotency key. Bull's job id keeps one cause from becoming two jobs, but an
 * attempt that SENS accepted and whose answer was lost (timeout, worker killed before the job
 * completed) is sent again by the retry: at-least-once, see docs/integrations.md.
 */
export const sendSmsJob = (sender: SmsSender, tuning: Tuning = {}) =>
  defineJob<SendSmsPayload>({
    queue: 'sms',
    name: 'sms.send',
    attempts: 5,
    backoffMs: 2_000,
    timeoutMs: 30_000,
    ...tuning,
    async handle(message, { signal, log }) {
      const sent = await sender.send(message, { signal });
      log.info({ to: maskPhone(message.to), type: sent.type, provider_request_id: sent.providerRequestId }, 'sms sent');
    },
  });

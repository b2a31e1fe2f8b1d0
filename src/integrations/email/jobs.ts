import { defineJob, type JobSpec } from '../../platform/jobs/job-definitions';
import { maskAddress, type Mailer, type OutgoingMail } from './mailer';

export type SendEmailPayload = OutgoingMail;

type Tuning = Partial<Pick<JobSpec<SendEmailPayload>, 'attempts' | 'backoffMs' | 'timeoutMs'>>;

/**
 * Sends one e-mail from the worker, retried with backoff (5 s doubling, six attempts: a relay
 * outage of about two and a half minutes is ridden out). The job id is the Message-ID, so
 * every attempt of one job sends the same message as far as the receiving side can tell.
 */
export const sendEmailJob = (mailer: Mailer, tuning: Tuning = {}) =>
  defineJob<SendEmailPayload>({
    queue: 'email',
    name: 'email.send',
    attempts: 6,
    backoffMs: 5_000,
    timeoutMs: 60_000,
    ...tuning,
    async handle(mail, { jobId, signal, log }) {
      const sent = await mailer.send(mail, { idempotencyKey: jobId, signal });
      log.info({ category: mail.category, to: maskAddress(mail.to), message_id: sent.messageId }, 'email sent');
    },
  });

import { createHash } from 'node:crypto';
import type { MailContent } from '../../integrations/email/templates';
import { accountExists, resetPassword, verifyEmail } from '../../integrations/email/templates';
import { sendEmailJob } from '../../integrations/email/jobs';
import type { Mailer } from '../../integrations/email/mailer';
import type { JobQueues } from '../../platform/jobs/job-queues';
import type { AccountMail } from './domain/account-mail';

// The API only enqueues: the job's definition needs a mailer to run, never to be enqueued.
const enqueueOnly: Mailer = {
  send: () => Promise.reject(new Error('e-mail is sent by the worker')),
  close: async () => undefined,
};
export const EMAIL_JOB = sendEmailJob(enqueueOnly);

/**
 * Account e-mails as `email.send` jobs. The links point at the web client (`webAppUrl`), which
 * posts the token to the API. A job's cause is derived from the token, so a retried enqueue of
 * the same message is one job.
 */
export function queuedAccountMail(jobs: JobQueues, webAppUrl: string): AccountMail {
  const link = (path: string, token?: string) => {
    const url = new URL(path, webAppUrl);
    if (token) url.searchParams.set('token', token);
    return url.toString();
  };
  const send = async (to: string, content: MailContent, cause: string) => {
    await jobs.enqueue(EMAIL_JOB, { to, ...content }, { causationId: createHash('sha256').update(cause).digest('base64url') });
  };
  return {
    verifyEmail: (to, nickname, token) => send(to, verifyEmail({ nickname, link: link('/verify-email', token) }), token),
    resetPassword: (to, nickname, token) => send(to, resetPassword({ nickname, link: link('/reset-password', token) }), token),
    // One notice per address per hour at most: the cause repeats within the hour.
    accountExists: (to, nickname) =>
      send(to, accountExists({ nickname, link: link('/reset-password') }), `exists:${to}:${new Date().toISOString().slice(0, 13)}`),
  };
}

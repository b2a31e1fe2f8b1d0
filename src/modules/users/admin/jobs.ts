import type { Sequelize } from 'sequelize';
import type { RecordEvents } from '../../../platform/events/event-store';
import { defineJob } from '../../../platform/jobs/job-definitions';
import type { AccountRepository } from './data/account-repository';

export interface EndSuspensionPayload {
  user_id: string;
  /** The end the suspension had when the job was queued (RFC 3339). */
  until: string;
  /** The `user.suspended` event that queued the job. */
  suspension_event_id: string;
}

/**
 * Lifts a suspension when it ends, so that `user.reinstated` (reason `expired`) tells the read
 * models: the public profile shows again. An ended suspension blocks nothing even before this
 * runs (isBlocked compares the time), so a late job only delays the profile. A suspension
 * replaced meanwhile is left alone: the replacement queued its own job.
 */
export const endSuspensionJob = (deps: { sequelize: Sequelize; accounts: AccountRepository; recordEvents: RecordEvents }) =>
  defineJob<EndSuspensionPayload>({
    queue: 'suspensions',
    name: 'users.end-suspension',
    attempts: 8,
    backoffMs: 2_000,
    async handle({ user_id, until, suspension_event_id }, { log }) {
      await deps.sequelize.transaction(async (t) => {
        const lifted = await deps.accounts.clearEndedSuspension(user_id, t);
        if (lifted) {
          await deps.recordEvents(
            t,
            { type: 'user', id: user_id },
            [{ type: 'user.reinstated', payload: { user_id, reason: 'expired', by: null, previous_status: 'suspended' } }],
            { causation_id: suspension_event_id, correlation_id: suspension_event_id },
          );
          return void log.info({ user_id }, 'suspension ended');
        }
        const current = await deps.accounts.findById(user_id, t);
        // Queued by a host whose clock runs ahead of the database's: retry until it has ended.
        if (current?.status === 'suspended' && current.suspendedUntil?.getTime() === new Date(until).getTime()) {
          throw new Error('the suspension has not ended yet by the database clock');
        }
      });
    },
  });

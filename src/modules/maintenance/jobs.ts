import { QueryTypes, type Sequelize } from 'sequelize';
import { defineJob } from '../../platform/jobs/job-definitions';

/**
 * Inbox rows only need to outlive any redelivery of their event (minutes, at worst days while a
 * DLQ waits for a fix); after that they are dead weight on every claim's index.
 */
export const INBOX_RETENTION_DAYS = 30;

export const pruneInboxJob = (sequelize: Sequelize) =>
  defineJob<{ retention_days: number }>({
    queue: 'maintenance',
    name: 'maintenance.prune-inbox',
    attempts: 3,
    timeoutMs: 10 * 60_000,
    async handle({ retention_days }, { log }) {
      // In bounded slices, so a large backlog never holds one long transaction.
      for (;;) {
        const rows = await sequelize.query(
          `DELETE FROM inbox WHERE ctid IN (
             SELECT ctid FROM inbox WHERE handled_at < now() - make_interval(days => $1) LIMIT 5000)
           RETURNING 1`,
          { bind: [retention_days], type: QueryTypes.SELECT },
        );
        if (rows.length < 5000) return void log.info({ deleted_last_slice: rows.length }, 'inbox pruned');
      }
    },
  });

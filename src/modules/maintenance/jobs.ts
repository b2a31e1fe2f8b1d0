import type { Sequelize } from 'sequelize';
import { deleteOlderThan } from '../../platform/db/prune';
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
      log.info({ deleted: await deleteOlderThan(sequelize, 'inbox', 'handled_at', retention_days) }, 'inbox pruned');
    },
  });

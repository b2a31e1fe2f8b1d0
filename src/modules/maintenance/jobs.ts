import type { Sequelize } from 'sequelize';
import { deleteOlderThan } from '../../platform/db/prune';
import { pruneIdempotencyKeys } from '../../platform/http/idempotency';
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

/** Stored Idempotency-Key answers past their expiry are never replayed again; they only fill the table. */
export const pruneIdempotencyKeysJob = (sequelize: Sequelize) =>
  defineJob<Record<string, never>>({
    queue: 'maintenance',
    name: 'maintenance.prune-idempotency-keys',
    attempts: 3,
    timeoutMs: 10 * 60_000,
    async handle(_payload, { log }) {
      log.info({ deleted: await pruneIdempotencyKeys(sequelize) }, 'expired idempotency keys pruned');
    },
  });

import type { Migration } from '../platform/db/migrator';
import { createIndexConcurrently } from './support/concurrent-index';

// Notifications are deleted after 90 days and keyword matches once their listing is sold or
// deleted (engagement.prune-notifications, engagement.prune-keyword-matches; docs/keyword-alerts.md,
// "Retention"). A keyword notification is what stops a bump from announcing its listing to the user
// again, so its prune records on the match that the user was told (notified_at): the match keeps
// the promise once the inbox row is gone. Nullable without a default: no table rewrite.
// The prune finds old notifications by created_at, which no index leads with (the inbox's are per
// user): without one each slice would scan the table. CONCURRENTLY, on its own statement, so
// deliveries keep going while it builds.
export const up: Migration = async ({ context: { sequelize } }) => {
  // IF NOT EXISTS: the statements commit one by one, so a run that failed after this one must be
  // able to run again.
  await sequelize.query('ALTER TABLE keyword_alert_matches ADD COLUMN IF NOT EXISTS notified_at timestamptz');
  await createIndexConcurrently(sequelize, 'notifications_created', 'notifications (created_at)');
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    DROP INDEX IF EXISTS notifications_created;
    ALTER TABLE keyword_alert_matches DROP COLUMN notified_at;
  `);
};

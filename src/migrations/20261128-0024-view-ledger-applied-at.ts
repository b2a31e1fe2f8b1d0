import type { Migration } from '../platform/db/migrator';

// The daily prune of the view-flush ledger (engagement.prune-view-ledger) finds old rows by
// applied_at; the ledger gains a row per flushed batch (thousands a day), so without an index each
// of its slices would read the whole table.
export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('CREATE INDEX view_count_flushes_applied_at ON view_count_flushes (applied_at)');
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('DROP INDEX view_count_flushes_applied_at');
};

import type { Migration } from '../platform/db/migrator';

// The similarity job took dirty items off the list (a committed DELETE) before recomputing them:
// a worker killed in between lost them until their next like, view or purchase. Items are now
// claimed (claimed_at, committed at once, so likes never wait on a recompute) and deleted in the
// recompute's own transaction; a claim older than the job can run is taken again.
export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('ALTER TABLE similarity_dirty_items ADD COLUMN claimed_at timestamptz');
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('ALTER TABLE similarity_dirty_items DROP COLUMN claimed_at');
};

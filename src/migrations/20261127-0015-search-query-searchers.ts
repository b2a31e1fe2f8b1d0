import type { Migration } from '../platform/db/migrator';

// A query becomes a suggestion for everyone only once several people have searched it: one
// person's searches (a name, an address, a phrase only they would type) must not be shown to
// others, and one account must not be able to plant suggestions. `searches` counts user-days;
// `searchers` counts distinct users. Existing rows start at 0 searchers and earn their place
// again, since who searched them was never recorded.
export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('ALTER TABLE search_queries ADD COLUMN searchers integer NOT NULL DEFAULT 0');
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('ALTER TABLE search_queries DROP COLUMN searchers');
};

import type { Migration } from '../platform/db/migrator';

// The seller's inbox learns a second kind: a moderator's decision on their flagged listing
// (`listing_review`). Until now the seller found out only by seeing the listing reappear in search
// or vanish.
export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
    ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN ('keyword_alert', 'listing_review'));
  `);
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    DELETE FROM notifications WHERE kind = 'listing_review';
    ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
    ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN ('keyword_alert'));
  `);
};

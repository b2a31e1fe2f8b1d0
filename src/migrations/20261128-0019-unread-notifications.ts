import type { Migration } from '../platform/db/migrator';

// `listMyNotifications?unread=true` reads only a user's unread notifications in the list's order,
// without walking the read ones (an inbox keeps every notification ever delivered).
export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`CREATE INDEX notifications_user_unread ON notifications (user_id, created_at DESC, id DESC) WHERE read_at IS NULL`);
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('DROP INDEX notifications_user_unread');
};

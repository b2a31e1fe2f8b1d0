import type { Migration } from '../platform/db/migrator';
import { createIndexConcurrently } from './support/concurrent-index';

// The hourly redelivery of keyword matches left without a notification (a delivery job failed
// for good through an outage) reads the matches of the last day, oldest first: by matched_at,
// not the whole table (one row per listing and user matched, kept until the listing ends).
// CONCURRENTLY, on its own: matching keeps writing meanwhile.
export const up: Migration = async ({ context: { sequelize } }) => {
  await createIndexConcurrently(sequelize, 'keyword_alert_matches_matched_at', 'keyword_alert_matches (matched_at)');
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('DROP INDEX CONCURRENTLY IF EXISTS keyword_alert_matches_matched_at');
};

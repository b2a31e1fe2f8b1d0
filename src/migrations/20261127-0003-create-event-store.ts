import type { Migration } from '../platform/db/migrator';

export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    -- The event store is also the outbox: an event is written in the transaction that changes
    -- state, and the relay publishes what is not yet published.
    CREATE TABLE events (
      position          bigserial PRIMARY KEY,
      id                text NOT NULL UNIQUE,
      aggregate_type    text NOT NULL,
      aggregate_id      text NOT NULL,
      aggregate_version integer NOT NULL CHECK (aggregate_version > 0),
      type              text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$'),
      schema_version    smallint NOT NULL DEFAULT 1,
      payload           jsonb NOT NULL,
      metadata          jsonb NOT NULL DEFAULT '{}',
      occurred_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
      published_at      timestamptz,
      -- Two writers of one aggregate conflict here instead of interleaving.
      UNIQUE (aggregate_type, aggregate_id, aggregate_version)
    );
    CREATE INDEX events_unpublished ON events (position) WHERE published_at IS NULL;
    CREATE INDEX events_type_position ON events (type, position);

    CREATE FUNCTION notify_events_appended() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('events_appended', '');
      RETURN NULL;
    END $$;
    CREATE TRIGGER events_appended AFTER INSERT ON events
      FOR EACH STATEMENT EXECUTE FUNCTION notify_events_appended();

    -- Effect-once for consumers: written in the same transaction as the handler's effect.
    CREATE TABLE inbox (
      subscriber   text NOT NULL,
      event_id     text NOT NULL,
      handled_at   timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (subscriber, event_id)
    );
    CREATE INDEX inbox_handled_at ON inbox (handled_at);
  `);
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    DROP TABLE inbox;
    DROP TABLE events;
    DROP FUNCTION notify_events_appended();
  `);
};

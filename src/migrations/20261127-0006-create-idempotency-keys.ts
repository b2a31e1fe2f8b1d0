import type { Migration } from '../platform/db/migrator';

export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    -- The first completed response to each (principal, Idempotency-Key), written in the
    -- transaction of the request's own writes, so that both or neither exist.
    CREATE TABLE idempotency_keys (
      principal    text NOT NULL,
      key          text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
      method       text NOT NULL,
      route        text NOT NULL,
      fingerprint  text NOT NULL,
      status       smallint NOT NULL CHECK (status BETWEEN 200 AND 499),
      headers      jsonb NOT NULL DEFAULT '{}',
      body         bytea NOT NULL,
      created_at   timestamptz NOT NULL DEFAULT now(),
      expires_at   timestamptz NOT NULL,
      PRIMARY KEY (principal, key)
    );
    CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
  `);
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('DROP TABLE idempotency_keys;');
};

import type { Migration } from '../platform/db/migrator';

export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    -- 본인인증 in flight. The provider's result comes back through the user's browser, so the
    -- secret needed to read it stays here (encrypted) and is wiped on first use: a replayed
    -- result finds nothing to decrypt with. Nothing about the person is kept in this table.
    CREATE TABLE identity_verifications (
      id                text PRIMARY KEY,
      user_id           text NOT NULL REFERENCES users (id),
      transaction_id    text NOT NULL UNIQUE,
      resume_secret_enc text,
      status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'verified', 'failed')),
      failure_code      text,
      auth_url          text NOT NULL,
      created_at        timestamptz NOT NULL DEFAULT now(),
      expires_at        timestamptz NOT NULL,
      completed_at      timestamptz,
      CHECK ((status = 'pending') = (resume_secret_enc IS NOT NULL))
    );
    CREATE INDEX identity_verifications_user ON identity_verifications (user_id, created_at DESC);

    -- The current agreement to the location terms (위치기반서비스 이용약관). Its history (given,
    -- withdrawn) is in the event store; a withdrawal deletes the row.
    CREATE TABLE location_consents (
      user_id       text PRIMARY KEY REFERENCES users (id),
      terms_version text NOT NULL,
      agreed_at     timestamptz NOT NULL
    );

    -- 동네인증: the dong a user proved being in, never the coordinates it was resolved from.
    CREATE TABLE user_neighbourhoods (
      user_id      text NOT NULL REFERENCES users (id),
      dong_code    text NOT NULL REFERENCES dongs (code),
      is_primary   boolean NOT NULL DEFAULT false,
      range        text NOT NULL DEFAULT 'medium' CHECK (range IN ('near', 'medium', 'far')),
      verified_at  timestamptz NOT NULL,
      expires_at   timestamptz NOT NULL,
      PRIMARY KEY (user_id, dong_code)
    );
    CREATE UNIQUE INDEX user_neighbourhoods_one_primary ON user_neighbourhoods (user_id) WHERE is_primary;
    -- Future feeds ask "who is verified in these dongs".
    CREATE INDEX user_neighbourhoods_dong ON user_neighbourhoods (dong_code, expires_at);
  `);
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('DROP TABLE user_neighbourhoods, location_consents, identity_verifications');
};

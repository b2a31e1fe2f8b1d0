import type { Migration } from '../platform/db/migrator';

export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    -- A Google or Kakao account linked to a Junggo account, keyed by the provider's stable id for
    -- the person (Google sub, Kakao member number): e-mail addresses change hands, subjects do not.
    CREATE TABLE social_identities (
      provider      text NOT NULL CHECK (provider IN ('google', 'kakao')),
      subject       text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
      user_id       text NOT NULL REFERENCES users (id),
      -- The address the provider vouched for when the link was made, for support; encrypted like
      -- every address (AES-256-GCM, AAD bound to provider and subject). Never used for lookups.
      email_enc     text,
      linked_at     timestamptz NOT NULL DEFAULT now(),
      last_login_at timestamptz,
      PRIMARY KEY (provider, subject)
    );
    -- One account of each provider per user: a second Google account cannot be added silently.
    CREATE UNIQUE INDEX social_identities_user_provider ON social_identities (user_id, provider);
  `);
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('DROP TABLE social_identities');
};

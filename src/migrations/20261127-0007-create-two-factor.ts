import type { Migration } from '../platform/db/migrator';

export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    -- One authenticator-app secret per user. The secret is encrypted (AES-256-GCM, AAD bound to the
    -- user id) because the server must read it back to check codes; a hash would not do.
    -- confirmed_at NULL is an enrolment started but not proven with a code: it never guards a sign-in.
    CREATE TABLE totp_credentials (
      user_id        text PRIMARY KEY REFERENCES users (id),
      secret_enc     text NOT NULL,
      created_at     timestamptz NOT NULL DEFAULT now(),
      confirmed_at   timestamptz,
      -- The highest time step whose code was accepted: a code is good once, even within its window.
      last_used_step bigint
    );

    -- Single-use recovery codes: keyed hashes only (HMAC under the blind-index key, bound to the user),
    -- so a copy of the table alone cannot be brute-forced.
    CREATE TABLE recovery_codes (
      user_id    text NOT NULL REFERENCES users (id),
      code_hash  text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      used_at    timestamptz,
      PRIMARY KEY (user_id, code_hash)
    );

    -- A sign-in whose first factor was right and whose second is pending.
    CREATE TABLE login_challenges (
      token_hash   text PRIMARY KEY,
      user_id      text NOT NULL REFERENCES users (id),
      first_factor text NOT NULL,
      methods      text[] NOT NULL CHECK (methods <@ ARRAY['totp', 'sms', 'recovery_code']::text[]),
      device_name  text,
      attempts     integer NOT NULL DEFAULT 0,
      created_at   timestamptz NOT NULL DEFAULT now(),
      expires_at   timestamptz NOT NULL,
      consumed_at  timestamptz
    );
    CREATE INDEX login_challenges_user ON login_challenges (user_id, created_at DESC);

    -- Codes sent by SMS: keyed hashes (a 6-digit code has too few values for a plain hash to hide it).
    CREATE TABLE sms_codes (
      id             text PRIMARY KEY,
      user_id        text NOT NULL REFERENCES users (id),
      purpose        text NOT NULL CHECK (purpose IN ('login', 'enrol', 'reauth')),
      challenge_hash text REFERENCES login_challenges (token_hash),
      code_hash      text NOT NULL,
      attempts       integer NOT NULL DEFAULT 0,
      created_at     timestamptz NOT NULL DEFAULT now(),
      expires_at     timestamptz NOT NULL,
      used_at        timestamptz,
      CHECK ((purpose = 'login') = (challenge_hash IS NOT NULL))
    );
    CREATE INDEX sms_codes_active ON sms_codes (user_id, purpose, created_at DESC) WHERE used_at IS NULL;
  `);
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('DROP TABLE sms_codes, login_challenges, recovery_codes, totp_credentials');
};

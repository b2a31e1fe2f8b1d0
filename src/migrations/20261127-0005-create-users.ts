import type { Migration } from '../platform/db/migrator';

export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    -- Personal data (e-mail, phone) is stored encrypted (AES-256-GCM, the key id inside the value);
    -- lookups go through a keyed blind index (HMAC), never the plaintext.
    CREATE TABLE users (
      id                   text PRIMARY KEY,
      email_bidx           text NOT NULL UNIQUE,
      email_enc            text NOT NULL,
      email_verified_at    timestamptz,
      password_hash        text,
      nickname             text NOT NULL,
      bio                  text,
      avatar_url           text,
      phone_enc            text,
      phone_bidx           text,
      notification_prefs   jsonb NOT NULL DEFAULT '{"chat": true, "keyword_alerts": true, "transactions": true, "marketing": false}',
      roles                text[] NOT NULL DEFAULT '{user}' CHECK (roles <@ ARRAY['user', 'moderator', 'admin']::text[]),
      status               text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'banned')),
      suspended_until      timestamptz,
      suspension_reason    text,
      identity_verified_at timestamptz,
      birth_year           smallint,
      ci_hash              text UNIQUE,
      totp_enabled         boolean NOT NULL DEFAULT false,
      sms_2fa_enabled      boolean NOT NULL DEFAULT false,
      version              integer NOT NULL DEFAULT 1,
      created_at           timestamptz NOT NULL DEFAULT now(),
      updated_at           timestamptz NOT NULL DEFAULT now()
    );
    -- Nicknames are unique regardless of case: 'Minji' and 'minji' are one name.
    CREATE UNIQUE INDEX users_nickname_lower ON users (lower(nickname));
    CREATE INDEX users_phone_bidx ON users (phone_bidx) WHERE phone_bidx IS NOT NULL;

    -- A session is one signed-in device: the family of its rotating refresh tokens.
    CREATE TABLE sessions (
      id             text PRIMARY KEY,
      user_id        text NOT NULL REFERENCES users (id),
      device_name    text NOT NULL,
      user_agent     text NOT NULL DEFAULT '',
      ip_address     text NOT NULL,
      created_at     timestamptz NOT NULL DEFAULT now(),
      last_used_at   timestamptz NOT NULL DEFAULT now(),
      expires_at     timestamptz NOT NULL,
      revoked_at     timestamptz,
      revoked_reason text
    );
    CREATE INDEX sessions_active_by_user ON sessions (user_id, last_used_at DESC) WHERE revoked_at IS NULL;

    -- Only hashes of refresh tokens are kept. A used token stays (used_at set) so that its reuse
    -- is recognised as theft and ends the session.
    CREATE TABLE refresh_tokens (
      token_hash text PRIMARY KEY,
      session_id text NOT NULL REFERENCES sessions (id),
      issued_at  timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      used_at    timestamptz
    );
    CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

    -- Single-use links sent by e-mail (verification, password reset): hashes only.
    CREATE TABLE account_tokens (
      token_hash text PRIMARY KEY,
      user_id    text NOT NULL REFERENCES users (id),
      purpose    text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      used_at    timestamptz
    );
    CREATE INDEX account_tokens_user_purpose ON account_tokens (user_id, purpose) WHERE used_at IS NULL;
  `);
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('DROP TABLE account_tokens, refresh_tokens, sessions, users');
};

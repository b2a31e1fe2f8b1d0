import type { Migration } from '../platform/db/migrator';

// Idempotency-Key answers carried e-mail addresses in plain text, and their SHA-256 request
// fingerprints gave up passwords and positions to a word list or a grid of points. From this
// release an answer (status, headers, body) is sealed with the personal-data cipher into
// response_enc, bound to its (principal, key), and the fingerprint is an HMAC; body and headers
// stay empty on such rows.
//
// Rows written before (response_enc NULL, plain answer, SHA-256 fingerprint) are still replayed
// for their 24 h, so that a retry across the deploy does not run twice (idempotency.ts, execute()).
// Processes of the previous release write them until they stop, and the column's NULL marks theirs
// too. Nullable without a default: no table rewrite.
export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('ALTER TABLE idempotency_keys ADD COLUMN response_enc text');
};

// The sealed rows stay: the previous release compares their HMAC fingerprint with its SHA-256
// and answers 422 idempotency_key_reused, which does not run a request twice; deleting them would.
export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('ALTER TABLE idempotency_keys DROP COLUMN response_enc');
};

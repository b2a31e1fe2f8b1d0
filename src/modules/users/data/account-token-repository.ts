import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { hashToken } from './session-repository';

export type AccountTokenPurpose = 'verify_email' | 'reset_password';

export type AccountTokenRepository = ReturnType<typeof createAccountTokenRepository>;

/** Single-use tokens sent by e-mail; only their hashes are stored. */
export function createAccountTokenRepository(sequelize: Sequelize) {
  return {
    /** Stores a new token and retires the user's earlier unused ones of the same purpose: only the newest link works. */
    async issue(userId: string, purpose: AccountTokenPurpose, token: string, ttlSeconds: number, transaction: Transaction): Promise<void> {
      await sequelize.query(`UPDATE account_tokens SET used_at = now() WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL`, {
        bind: [userId, purpose],
        transaction,
      });
      await sequelize.query(
        `INSERT INTO account_tokens (token_hash, user_id, purpose, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
        { bind: [hashToken(token), userId, purpose, ttlSeconds], transaction },
      );
    },

    /** Marks the token used and returns its user, if it is known, unused, unexpired and of this purpose. */
    async consume(token: string, purpose: AccountTokenPurpose, transaction: Transaction): Promise<string | null> {
      const rows = await sequelize.query<{ user_id: string }>(
        `UPDATE account_tokens SET used_at = now()
          WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
          RETURNING user_id`,
        { bind: [hashToken(token), purpose], type: QueryTypes.SELECT, transaction },
      );
      return rows[0]?.user_id ?? null;
    },
  };
}

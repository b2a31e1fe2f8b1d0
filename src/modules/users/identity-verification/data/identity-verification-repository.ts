import { QueryTypes, UniqueConstraintError, type Sequelize, type Transaction } from 'sequelize';
import type { PersonalDataCipher } from '../../data/personal-data';
import { normalisePhone } from '../../domain/user';
import type { IdentityVerificationRecord, VerificationStatus } from '../domain/identity-verification';

interface Row {
  id: string;
  user_id: string;
  transaction_id: string;
  resume_secret_enc: string | null;
  status: VerificationStatus;
  failure_code: string | null;
  auth_url: string;
  created_at: Date;
  expires_at: Date;
  completed_at: Date | null;
}

export interface NewVerification {
  id: string;
  userId: string;
  transactionId: string;
  resumeSecret: string;
  authUrl: string;
  expiresAt: Date;
}

export interface IdentityUpdate {
  verifiedAt: Date;
  birthYear: number;
  ciHash: string;
  /** National format; set on the account only when it has no phone yet. */
  phone: string;
}

const COLUMNS = 'id, user_id, transaction_id, resume_secret_enc, status, failure_code, auth_url, created_at, expires_at, completed_at';
// The unique constraint that makes one verified account per person.
const CI_HASH_CONSTRAINT = 'users_ci_hash_key';

/** Thrown when the CI hash is already on another account. */
export class CiAlreadyUsedError extends Error {}

/** Pending and finished identity verifications, and the identity columns of `users`. */
export function createIdentityVerificationRepository(sequelize: Sequelize, cipher: PersonalDataCipher) {
  const secretAad = (id: string) => `identity_verification.resume_secret:${id}`;
  const toRecord = (r: Row): IdentityVerificationRecord => ({
    id: r.id,
    userId: r.user_id,
    transactionId: r.transaction_id,
    status: r.status,
    failureCode: r.failure_code,
    authUrl: r.auth_url,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    completedAt: r.completed_at,
  });

  return {
    async insert(v: NewVerification, transaction: Transaction): Promise<IdentityVerificationRecord> {
      const [row] = await sequelize.query<Row>(
        `INSERT INTO identity_verifications (id, user_id, transaction_id, resume_secret_enc, auth_url, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
        { bind: [v.id, v.userId, v.transactionId, cipher.encrypt(v.resumeSecret, secretAad(v.id)), v.authUrl, v.expiresAt], type: QueryTypes.SELECT, transaction },
      );
      return toRecord(row!);
    },

    /** The user's own verification; another user's is as absent as an unknown one. */
    async find(userId: string, id: string): Promise<IdentityVerificationRecord | null> {
      const [row] = await sequelize.query<Row>(`SELECT ${COLUMNS} FROM identity_verifications WHERE id = $1 AND user_id = $2`, { bind: [id, userId], type: QueryTypes.SELECT });
      return row ? toRecord(row) : null;
    },

    /**
     * Uses the pending verification up in one statement and hands back its resume secret, which is
     * wiped: whatever happens next, the same result cannot be read twice. It is marked failed
     * until the success is recorded, so a crash in between leaves nothing half-verified.
     */
    async claim(userId: string, id: string): Promise<{ record: IdentityVerificationRecord; resumeSecret: string } | null> {
      const [row] = await sequelize.query<Row>(
        `UPDATE identity_verifications v SET status = 'failed', failure_code = 'identity_verification_invalid', resume_secret_enc = NULL, completed_at = now()
           FROM identity_verifications old
          WHERE v.id = $1 AND v.user_id = $2 AND v.status = 'pending' AND old.id = v.id
          RETURNING v.id, v.user_id, v.transaction_id, old.resume_secret_enc, v.status, v.failure_code, v.auth_url, v.created_at, v.expires_at, v.completed_at`,
        { bind: [id, userId], type: QueryTypes.SELECT },
      );
      if (!row) return null;
      return { record: toRecord(row), resumeSecret: cipher.decrypt(row.resume_secret_enc!, secretAad(row.id)) };
    },

    async recordFailure(id: string, failureCode: string): Promise<void> {
      await sequelize.query(`UPDATE identity_verifications SET failure_code = $2 WHERE id = $1 AND status = 'failed'`, { bind: [id, failureCode] });
    },

    async markVerified(id: string, transaction: Transaction): Promise<IdentityVerificationRecord> {
      const [row] = await sequelize.query<Row>(`UPDATE identity_verifications SET status = 'verified', failure_code = NULL WHERE id = $1 RETURNING ${COLUMNS}`, {
        bind: [id],
        type: QueryTypes.SELECT,
        transaction,
      });
      return toRecord(row!);
    },

    /** Locks the account for the change; null when it no longer exists. */
    async lockAccount(userId: string, transaction: Transaction): Promise<{ identityVerifiedAt: Date | null; hasPhone: boolean } | null> {
      const [row] = await sequelize.query<{ identity_verified_at: Date | null; has_phone: boolean }>(
        'SELECT identity_verified_at, phone_enc IS NOT NULL AS has_phone FROM users WHERE id = $1 FOR UPDATE',
        { bind: [userId], type: QueryTypes.SELECT, transaction },
      );
      return row ? { identityVerifiedAt: row.identity_verified_at, hasPhone: row.has_phone } : null;
    },

    async identityVerifiedAt(userId: string): Promise<Date | null | undefined> {
      const [row] = await sequelize.query<{ identity_verified_at: Date | null }>('SELECT identity_verified_at FROM users WHERE id = $1', { bind: [userId], type: QueryTypes.SELECT });
      return row ? row.identity_verified_at : undefined;
    },

    /** Stores the verified identity on the account; CiAlreadyUsedError when the person verifies another account. */
    async setIdentity(userId: string, update: IdentityUpdate, transaction: Transaction): Promise<void> {
      const phone = normalisePhone(update.phone);
      try {
        await sequelize.query(
          `UPDATE users SET identity_verified_at = $2, birth_year = $3, ci_hash = $4,
                  phone_enc = coalesce(phone_enc, $5), phone_bidx = CASE WHEN phone_enc IS NULL THEN $6 ELSE phone_bidx END,
                  version = version + 1, updated_at = now()
            WHERE id = $1`,
          { bind: [userId, update.verifiedAt, update.birthYear, update.ciHash, cipher.encrypt(phone, `user.phone:${userId}`), cipher.blindIndex(phone, 'user.phone')], transaction },
        );
      } catch (err) {
        if (err instanceof UniqueConstraintError && (err.parent as { constraint?: string } | undefined)?.constraint === CI_HASH_CONSTRAINT) throw new CiAlreadyUsedError();
        throw err;
      }
    },
  };
}
export type IdentityVerificationRepository = ReturnType<typeof createIdentityVerificationRepository>;

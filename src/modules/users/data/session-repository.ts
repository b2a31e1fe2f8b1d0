import { createHash } from 'node:crypto';
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { MAX_ACTIVE_SESSIONS, type Session } from '../domain/user';
import { accountInForce } from './account-in-force';

interface SessionRow {
  id: string;
  user_id: string;
  device_name: string;
  ip_address: string;
  created_at: Date;
  last_used_at: Date;
}

export interface RefreshTokenRecord {
  sessionId: string;
  userId: string;
  usedAt: Date | null;
  expiresAt: Date;
  sessionRevoked: boolean;
  sessionExpiresAt: Date;
}

// Refresh tokens carry 256 random bits: a plain SHA-256 is enough to make the stored value useless.
export const hashToken = (token: string) => createHash('sha256').update(token).digest('base64url');

const toSession = (r: SessionRow): Session => ({
  id: r.id,
  userId: r.user_id,
  deviceName: r.device_name,
  ipAddress: r.ip_address,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
});

export type SessionRepository = ReturnType<typeof createSessionRepository>;

/** Sessions (signed-in devices) and the hashes of their refresh tokens. */
export function createSessionRepository(sequelize: Sequelize) {
  return {
    async create(
      s: { id: string; userId: string; deviceName: string; userAgent: string; ipAddress: string; expiresAt: Date },
      transaction: Transaction,
    ): Promise<void> {
      await sequelize.query(
        `INSERT INTO sessions (id, user_id, device_name, user_agent, ip_address, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
        { bind: [s.id, s.userId, s.deviceName, s.userAgent, s.ipAddress, s.expiresAt], transaction },
      );
    },

    async addRefreshToken(sessionId: string, token: string, expiresAt: Date, transaction: Transaction): Promise<void> {
      await sequelize.query(`INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)`, {
        bind: [hashToken(token), sessionId, expiresAt],
        transaction,
      });
    },

    /** Locks the token's row so that two concurrent uses of one token are serialised. */
    async findRefreshTokenForUpdate(token: string, transaction: Transaction): Promise<RefreshTokenRecord | null> {
      const rows = await sequelize.query<{
        session_id: string;
        user_id: string;
        used_at: Date | null;
        expires_at: Date;
        revoked_at: Date | null;
        session_expires_at: Date;
      }>(
        `SELECT t.session_id, s.user_id, t.used_at, t.expires_at, s.revoked_at, s.expires_at AS session_expires_at
           FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
          WHERE t.token_hash = $1 FOR UPDATE OF t`,
        { bind: [hashToken(token)], type: QueryTypes.SELECT, transaction },
      );
      const r = rows[0];
      return r
        ? { sessionId: r.session_id, userId: r.user_id, usedAt: r.used_at, expiresAt: r.expires_at, sessionRevoked: r.revoked_at !== null, sessionExpiresAt: r.session_expires_at }
        : null;
    },

    async markRefreshTokenUsed(token: string, transaction: Transaction): Promise<void> {
      await sequelize.query(`UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1`, { bind: [hashToken(token)], transaction });
    },

    async touch(sessionId: string, ipAddress: string, transaction: Transaction): Promise<void> {
      await sequelize.query(`UPDATE sessions SET last_used_at = now(), ip_address = $2 WHERE id = $1`, { bind: [sessionId, ipAddress], transaction });
    },

    /** Ends sessions of a user: one (`only`), all but one (`except`), or all. Returns the ids ended. */
    async revoke(userId: string, reason: string, transaction: Transaction, which: { only?: string; except?: string } = {}): Promise<string[]> {
      const rows = await sequelize.query<{ id: string }>(
        `UPDATE sessions SET revoked_at = now(), revoked_reason = $2
          WHERE user_id = $1 AND revoked_at IS NULL
            AND ($3::text IS NULL OR id = $3) AND ($4::text IS NULL OR id <> $4)
          RETURNING id`,
        { bind: [userId, reason, which.only ?? null, which.except ?? null], type: QueryTypes.SELECT, transaction },
      );
      return rows.map((r) => r.id);
    },

    /** Ends the user's active sessions past the `keep` most recently used; their ids. */
    async revokeBeyond(userId: string, keep: number, reason: string, transaction: Transaction): Promise<string[]> {
      const rows = await sequelize.query<{ id: string }>(
        `UPDATE sessions SET revoked_at = now(), revoked_reason = $3
          WHERE id IN (SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
                        ORDER BY last_used_at DESC, id OFFSET $2)
          RETURNING id`,
        { bind: [userId, keep, reason], type: QueryTypes.SELECT, transaction },
      );
      return rows.map((r) => r.id);
    },

    /** The active sessions, most recently used first: at most MAX_ACTIVE_SESSIONS, since signing in ends the oldest past it. */
    async listActive(userId: string): Promise<Session[]> {
      const rows = await sequelize.query<SessionRow>(
        `SELECT id, user_id, device_name, ip_address, created_at, last_used_at FROM sessions
          WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
          ORDER BY last_used_at DESC, id LIMIT ${MAX_ACTIVE_SESSIONS}`,
        { bind: [userId], type: QueryTypes.SELECT },
      );
      return rows.map(toSession);
    },

    /** Whether the session is still valid: the fallback when the revocation cache cannot answer. */
    async isActive(sessionId: string): Promise<boolean> {
      const rows = await sequelize.query<{ ok: boolean }>(
        `SELECT (s.revoked_at IS NULL AND s.expires_at > now()
                 AND ${accountInForce('u')}) AS ok
           FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1`,
        { bind: [sessionId], type: QueryTypes.SELECT },
      );
      return rows[0]?.ok === true;
    },
  };
}

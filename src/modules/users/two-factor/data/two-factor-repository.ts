import { randomBytes, timingSafeEqual } from 'node:crypto';
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { PersonalDataCipher } from '../../data/personal-data';
import { hashToken } from '../../data/session-repository';
import type { SecondFactorMethod } from '../domain/model';

export interface TotpCredential {
  secret: string;
  createdAt: Date;
  confirmedAt: Date | null;
}

export interface StoredChallenge {
  tokenHash: string;
  userId: string;
  firstFactor: string;
  methods: SecondFactorMethod[];
  deviceName: string | null;
  attempts: number;
  expiresAt: Date;
}

export type SmsPurpose = 'login' | 'enrol' | 'reauth';

interface ChallengeRow {
  token_hash: string;
  user_id: string;
  first_factor: string;
  methods: SecondFactorMethod[];
  device_name: string | null;
  attempts: number;
  expires_at: Date;
}

const toChallenge = (r: ChallengeRow): StoredChallenge => ({
  tokenHash: r.token_hash,
  userId: r.user_id,
  firstFactor: r.first_factor,
  methods: r.methods,
  deviceName: r.device_name,
  attempts: r.attempts,
  expiresAt: r.expires_at,
});

const sameHash = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export type TwoFactorRepository = ReturnType<typeof createTwoFactorRepository>;

/**
 * Second-factor state in PostgreSQL: TOTP secrets encrypted and bound to their user, recovery and
 * SMS codes as keyed hashes, login challenges as hashes of their tokens.
 */
export function createTwoFactorRepository(sequelize: Sequelize, cipher: PersonalDataCipher) {
  const secretAad = (userId: string) => `user.totp:${userId}`;
  const recoveryHash = (userId: string, normalisedCode: string) => cipher.blindIndex(`${userId}:${normalisedCode}`, 'user.recovery_code');
  const smsHash = (codeId: string, code: string) => cipher.blindIndex(`${codeId}:${code}`, 'user.sms_code');
  const select = <T extends object>(sql: string, bind: unknown[], transaction?: Transaction) => sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT, transaction });

  return {
    totp: {
      async find(userId: string, transaction?: Transaction): Promise<TotpCredential | null> {
        const [row] = await select<{ secret_enc: string; created_at: Date; confirmed_at: Date | null }>(
          `SELECT secret_enc, created_at, confirmed_at FROM totp_credentials WHERE user_id = $1`,
          [userId],
          transaction,
        );
        return row ? { secret: cipher.decrypt(row.secret_enc, secretAad(userId)), createdAt: row.created_at, confirmedAt: row.confirmed_at } : null;
      },

      /** A new unconfirmed secret, replacing an unconfirmed one; a confirmed one is never overwritten. */
      async savePending(userId: string, secret: string, transaction: Transaction): Promise<boolean> {
        const rows = await select(
          `INSERT INTO totp_credentials (user_id, secret_enc) VALUES ($1, $2)
           ON CONFLICT (user_id) DO UPDATE SET secret_enc = EXCLUDED.secret_enc, created_at = now(), last_used_step = NULL
             WHERE totp_credentials.confirmed_at IS NULL
           RETURNING user_id`,
          [userId, cipher.encrypt(secret, secretAad(userId))],
          transaction,
        );
        return rows.length === 1;
      },

      /**
       * Records that the code of `step` was used, unless that step (or a later one) already was:
       * the compare-and-set is what makes a code single use, even for two requests at once.
       */
      async useStep(userId: string, step: number, transaction?: Transaction): Promise<boolean> {
        const rows = await select(
          `UPDATE totp_credentials SET last_used_step = $2 WHERE user_id = $1 AND (last_used_step IS NULL OR last_used_step < $2) RETURNING user_id`,
          [userId, step],
          transaction,
        );
        return rows.length === 1;
      },

      async confirm(userId: string, transaction: Transaction): Promise<void> {
        await sequelize.query(`UPDATE totp_credentials SET confirmed_at = now() WHERE user_id = $1`, { bind: [userId], transaction });
      },

      async remove(userId: string, transaction: Transaction): Promise<void> {
        await sequelize.query(`DELETE FROM totp_credentials WHERE user_id = $1`, { bind: [userId], transaction });
      },
    },

    recoveryCodes: {
      /** Replaces every code of the user with these. */
      async replace(userId: string, codes: string[], transaction: Transaction): Promise<void> {
        await sequelize.query(`DELETE FROM recovery_codes WHERE user_id = $1`, { bind: [userId], transaction });
        if (codes.length === 0) return;
        await sequelize.query(`INSERT INTO recovery_codes (user_id, code_hash) SELECT $1, unnest($2::text[])`, {
          bind: [userId, codes.map((c) => recoveryHash(userId, c))],
          transaction,
        });
      },

      async countUnused(userId: string, transaction?: Transaction): Promise<number> {
        const [row] = await select<{ n: string }>(`SELECT count(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, [userId], transaction);
        return Number(row?.n ?? 0);
      },

      /** Uses the code up if it is one of the user's unused ones. */
      async consume(userId: string, normalisedCode: string, transaction?: Transaction): Promise<boolean> {
        const rows = await select(
          `UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING user_id`,
          [userId, recoveryHash(userId, normalisedCode)],
          transaction,
        );
        return rows.length === 1;
      },
    },

    challenges: {
      async create(token: string, c: { userId: string; firstFactor: string; methods: SecondFactorMethod[]; deviceName: string | null; ttlSeconds: number }): Promise<Date> {
        const [row] = await select<{ expires_at: Date }>(
          `INSERT INTO login_challenges (token_hash, user_id, first_factor, methods, device_name, expires_at)
           VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6)) RETURNING expires_at`,
          [hashToken(token), c.userId, c.firstFactor, c.methods, c.deviceName, c.ttlSeconds],
        );
        return row!.expires_at;
      },

      /** The challenge if it is still open (unexpired, not completed, attempts left). */
      async findOpen(token: string, maxAttempts: number): Promise<StoredChallenge | null> {
        const [row] = await select<ChallengeRow>(
          `SELECT * FROM login_challenges WHERE token_hash = $1 AND consumed_at IS NULL AND expires_at > now() AND attempts < $2`,
          [hashToken(token), maxAttempts],
        );
        return row ? toChallenge(row) : null;
      },

      /**
       * Takes one attempt from an open challenge before its code is checked, so that parallel
       * guesses cannot share one remaining attempt. Null when the challenge is not open.
       */
      async takeAttempt(token: string, maxAttempts: number): Promise<StoredChallenge | null> {
        const [row] = await select<ChallengeRow>(
          `UPDATE login_challenges SET attempts = attempts + 1
            WHERE token_hash = $1 AND consumed_at IS NULL AND expires_at > now() AND attempts < $2 RETURNING *`,
          [hashToken(token), maxAttempts],
        );
        return row ? toChallenge(row) : null;
      },

      /** Completes the challenge once; false when another request completed it first. */
      async consume(tokenHash: string, transaction: Transaction): Promise<boolean> {
        const rows = await select(`UPDATE login_challenges SET consumed_at = now() WHERE token_hash = $1 AND consumed_at IS NULL RETURNING token_hash`, [tokenHash], transaction);
        return rows.length === 1;
      },
    },

    smsCodes: {
      /** Stores a new code, retiring the earlier active ones of the same purpose (and challenge). */
      async issue(s: { userId: string; purpose: SmsPurpose; challengeHash: string | null; code: string; ttlSeconds: number }, transaction: Transaction): Promise<{ id: string; expiresAt: Date }> {
        await sequelize.query(
          `UPDATE sms_codes SET used_at = now() WHERE user_id = $1 AND purpose = $2 AND challenge_hash IS NOT DISTINCT FROM $3 AND used_at IS NULL`,
          { bind: [s.userId, s.purpose, s.challengeHash], transaction },
        );
        const id = `sms_${randomBytes(16).toString('base64url')}`;
        const [row] = await select<{ expires_at: Date }>(
          `INSERT INTO sms_codes (id, user_id, purpose, challenge_hash, code_hash, expires_at)
           VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6)) RETURNING expires_at`,
          [id, s.userId, s.purpose, s.challengeHash, smsHash(id, s.code), s.ttlSeconds],
          transaction,
        );
        return { id, expiresAt: row!.expires_at };
      },

      /**
       * Checks a code against the active one: 'none' when there is none (expired, used, out of
       * attempts), else whether it matched. A wrong code spends one of its attempts; a right one
       * uses it up. The attempt is taken before comparing, so parallel guesses cannot share one.
       */
      async check(s: { userId: string; purpose: SmsPurpose; challengeHash: string | null; code: string; maxAttempts: number }): Promise<'none' | 'wrong' | 'right'> {
        const [row] = await select<{ id: string; code_hash: string }>(
          `UPDATE sms_codes SET attempts = attempts + 1
            WHERE id = (SELECT id FROM sms_codes
                         WHERE user_id = $1 AND purpose = $2 AND challenge_hash IS NOT DISTINCT FROM $3 AND used_at IS NULL
                         ORDER BY created_at DESC LIMIT 1)
              AND used_at IS NULL AND expires_at > now() AND attempts < $4
          RETURNING id, code_hash`,
          [s.userId, s.purpose, s.challengeHash, s.maxAttempts],
        );
        if (!row) return 'none';
        if (!sameHash(row.code_hash, smsHash(row.id, s.code))) return 'wrong';
        const used = await select(`UPDATE sms_codes SET used_at = now() WHERE id = $1 AND used_at IS NULL RETURNING id`, [row.id]);
        return used.length === 1 ? 'right' : 'none';
      },
    },

    /** Forgets every second-factor secret of the user (the last method turned off). */
    async removeAll(userId: string, transaction: Transaction): Promise<void> {
      await sequelize.query(`DELETE FROM recovery_codes WHERE user_id = $1`, { bind: [userId], transaction });
      await sequelize.query(`UPDATE sms_codes SET used_at = now() WHERE user_id = $1 AND used_at IS NULL`, { bind: [userId], transaction });
    },

    /** Keeps the users row's flags (shown in the profile) true, and moves the profile's version on. */
    async setFlags(userId: string, flags: { totp?: boolean; sms?: boolean }, transaction: Transaction): Promise<void> {
      await sequelize.query(
        `UPDATE users SET totp_enabled = coalesce($2, totp_enabled), sms_2fa_enabled = coalesce($3, sms_2fa_enabled), version = version + 1, updated_at = now() WHERE id = $1`,
        { bind: [userId, flags.totp ?? null, flags.sms ?? null], transaction },
      );
    },
  };
}

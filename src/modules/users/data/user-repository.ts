import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { normaliseEmail, type AccountStatus, type NotificationPreferences, type Role, type User } from '../domain/user';
import type { PersonalDataCipher } from './personal-data';

interface UserRow {
  id: string;
  email_enc: string;
  email_verified_at: Date | null;
  password_hash: string | null;
  nickname: string;
  bio: string | null;
  avatar_url: string | null;
  phone_enc: string | null;
  notification_prefs: NotificationPreferences;
  roles: Role[];
  status: AccountStatus;
  suspended_until: Date | null;
  identity_verified_at: Date | null;
  totp_enabled: boolean;
  sms_2fa_enabled: boolean;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface NewUser {
  id: string;
  email: string;
  // Null for an account created by a social sign-in: it has no password until one is set by reset.
  passwordHash: string | null;
  nickname: string;
  phone: string | null;
}

export interface ProfileChanges {
  nickname: string;
  bio: string | null;
  avatarUrl: string | null;
  notificationPrefs: NotificationPreferences;
}

const COLUMNS = `id, email_enc, email_verified_at, password_hash, nickname, bio, avatar_url, phone_enc, notification_prefs, roles,
  status, suspended_until, identity_verified_at, totp_enabled, sms_2fa_enabled, version, created_at, updated_at`;

// The unique index names, so a violation maps to the right problem.
export const NICKNAME_INDEX = 'users_nickname_lower';
export const EMAIL_INDEX = 'users_email_bidx_key';

export type UserRepository = ReturnType<typeof createUserRepository>;

/** Users in PostgreSQL; personal data is encrypted on the way in and decrypted on the way out. */
export function createUserRepository(sequelize: Sequelize, cipher: PersonalDataCipher) {
  const emailIndex = (email: string) => cipher.blindIndex(normaliseEmail(email), 'user.email');
  const phoneIndex = (phone: string) => cipher.blindIndex(phone, 'user.phone');

  const toUser = (r: UserRow): User => ({
    id: r.id,
    email: cipher.decrypt(r.email_enc, `user.email:${r.id}`),
    emailVerifiedAt: r.email_verified_at,
    passwordHash: r.password_hash,
    nickname: r.nickname,
    bio: r.bio,
    avatarUrl: r.avatar_url,
    phone: r.phone_enc ? cipher.decrypt(r.phone_enc, `user.phone:${r.id}`) : null,
    notificationPrefs: r.notification_prefs,
    roles: r.roles,
    status: r.status,
    suspendedUntil: r.suspended_until,
    identityVerifiedAt: r.identity_verified_at,
    twoFactor: { totp: r.totp_enabled, sms: r.sms_2fa_enabled },
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  });

  const one = async (sql: string, bind: unknown[], transaction?: Transaction): Promise<User | null> => {
    const rows = await sequelize.query<UserRow>(sql, { bind, type: QueryTypes.SELECT, transaction });
    return rows[0] ? toUser(rows[0]) : null;
  };

  const insertUser = (user: NewUser, onConflict: string, transaction: Transaction) =>
    one(
      `INSERT INTO users (id, email_bidx, email_enc, password_hash, nickname, phone_enc, phone_bidx)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ${onConflict} RETURNING ${COLUMNS}`,
      [
        user.id,
        emailIndex(user.email),
        cipher.encrypt(normaliseEmail(user.email), `user.email:${user.id}`),
        user.passwordHash,
        user.nickname,
        user.phone ? cipher.encrypt(user.phone, `user.phone:${user.id}`) : null,
        user.phone ? phoneIndex(user.phone) : null,
      ],
      transaction,
    );

  return {
    emailIndex,

    findById: (id: string, transaction?: Transaction) => one(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id], transaction),

    /** With a row lock when inside a transaction that will change the user. */
    findByIdForUpdate: (id: string, transaction: Transaction) => one(`SELECT ${COLUMNS} FROM users WHERE id = $1 FOR UPDATE`, [id], transaction),

    findByEmail: (email: string, transaction?: Transaction) => one(`SELECT ${COLUMNS} FROM users WHERE email_bidx = $1`, [emailIndex(email)], transaction),

    /** Inside a transaction, pass it: a second connection waited for while holding one can exhaust the pool. */
    async isNicknameTaken(nickname: string, exceptUserId?: string, transaction?: Transaction): Promise<boolean> {
      const rows = await sequelize.query(`SELECT 1 FROM users WHERE lower(nickname) = lower($1) AND id IS DISTINCT FROM $2`, {
        bind: [nickname, exceptUserId ?? null],
        type: QueryTypes.SELECT,
        ...(transaction ? { transaction } : {}),
      });
      return rows.length > 0;
    },

    async insert(user: NewUser, transaction: Transaction): Promise<User> {
      return (await insertUser(user, '', transaction))!;
    },

    /**
     * Inserts the account, or returns the one its address already has (`created` false), in one
     * statement: returning an existing row takes DO UPDATE, which rewrites it unchanged (a HOT
     * update, no indexed value changes). It sets a column in no unique index, so the row lock is
     * FOR NO KEY UPDATE: FOR UPDATE (setting a unique key) would conflict with the FOR KEY SHARE of
     * every insert referencing the owner (sessions, likes, notifications), so the owner's activity
     * would delay the answer. Two registrations of one address racing meet in the unique index
     * instead of an error; a taken nickname still raises.
     */
    async insertOrGetByEmail(user: NewUser, transaction: Transaction): Promise<{ user: User; created: boolean }> {
      const row = (await insertUser(user, 'ON CONFLICT (email_bidx) DO UPDATE SET password_hash = users.password_hash', transaction))!;
      return { user: row, created: row.id === user.id };
    },

    async markEmailVerified(id: string, transaction: Transaction): Promise<User> {
      return (await one(
        `UPDATE users SET email_verified_at = coalesce(email_verified_at, now()), version = version + 1, updated_at = now()
          WHERE id = $1 RETURNING ${COLUMNS}`,
        [id],
        transaction,
      ))!;
    },

    async setPasswordHash(id: string, passwordHash: string, transaction: Transaction): Promise<void> {
      await sequelize.query(`UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1`, { bind: [id, passwordHash], transaction });
    },

    /** Applies the change only if the version is still `expectedVersion`; null when it moved on. */
    async updateProfile(id: string, changes: ProfileChanges, expectedVersion: number | null, transaction: Transaction): Promise<User | null> {
      return one(
        `UPDATE users SET nickname = $2, bio = $3, avatar_url = $4, notification_prefs = $5::jsonb, version = version + 1, updated_at = now()
          WHERE id = $1 AND ($6::int IS NULL OR version = $6::int) RETURNING ${COLUMNS}`,
        [id, changes.nickname, changes.bio, changes.avatarUrl, JSON.stringify(changes.notificationPrefs), expectedVersion],
        transaction,
      );
    },
  };
}

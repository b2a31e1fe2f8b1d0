import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { PersonalDataCipher } from '../../data/personal-data';
import { normaliseEmail, type AccountStatus, type Role } from '../../domain/user';
import { accountInForce } from '../../data/account-in-force';

/** An account as staff see it: what the users row says about access, with the e-mail decrypted. */
export interface Account {
  id: string;
  email: string;
  emailVerified: boolean;
  nickname: string;
  roles: Role[];
  /** As stored: a suspension whose end has passed still reads `suspended` until it is lifted. */
  status: AccountStatus;
  suspendedUntil: Date | null;
  suspensionReason: string | null;
  identityVerified: boolean;
  createdAt: Date;
  updatedAt: Date;
  /** created_at in microseconds since the epoch: the exact keyset position (a Date keeps only ms). */
  createdAtMicros: string;
}

export interface AccountFilters {
  emailIndex?: string;
  nicknamePrefix?: string;
  status?: AccountStatus;
  role?: Role;
}

interface Row {
  id: string;
  email_enc: string;
  email_verified_at: Date | null;
  nickname: string;
  roles: Role[];
  status: AccountStatus;
  suspended_until: Date | null;
  suspension_reason: string | null;
  identity_verified_at: Date | null;
  created_at: Date;
  updated_at: Date;
  created_us: string;
}

const COLUMNS = `id, email_enc, email_verified_at, nickname, roles, status, suspended_until, suspension_reason, identity_verified_at,
  created_at, updated_at, (extract(epoch FROM created_at) * 1000000)::bigint::text AS created_us`;

// The status in force, in SQL: the same rule as isBlocked (domain/user.ts).
const STATUS_IN_FORCE: Record<AccountStatus, string> = {
  active: accountInForce(),
  suspended: `(status = 'suspended' AND (suspended_until IS NULL OR suspended_until > now()))`,
  banned: `status = 'banned'`,
};

const likePrefix = (s: string) => `${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export type AccountRepository = ReturnType<typeof createAccountRepository>;

/** The users table, for staff: search, suspension and roles. Personal data is decrypted on the way out. */
export function createAccountRepository(sequelize: Sequelize, cipher: PersonalDataCipher) {
  const toAccount = (r: Row): Account => ({
    id: r.id,
    // The same associated data the user repository encrypts with: the value is bound to its row.
    email: cipher.decrypt(r.email_enc, `user.email:${r.id}`),
    emailVerified: r.email_verified_at !== null,
    nickname: r.nickname,
    roles: r.roles,
    status: r.status,
    suspendedUntil: r.suspended_until,
    suspensionReason: r.suspension_reason,
    identityVerified: r.identity_verified_at !== null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    createdAtMicros: r.created_us,
  });

  const one = async (sql: string, bind: unknown[], transaction?: Transaction) => {
    const rows = await sequelize.query<Row>(sql, { bind, type: QueryTypes.SELECT, transaction });
    return rows[0] ? toAccount(rows[0]) : null;
  };

  return {
    emailIndex: (email: string) => cipher.blindIndex(normaliseEmail(email), 'user.email'),

    /** Newest first; `after` is the last row of the previous page. Returns up to `limit` rows. */
    async search(filters: AccountFilters, after: { createdAtMicros: string; id: string } | null, limit: number): Promise<Account[]> {
      const where: string[] = [];
      const bind: unknown[] = [];
      const param = (value: unknown) => `$${bind.push(value)}`;
      if (filters.emailIndex) where.push(`email_bidx = ${param(filters.emailIndex)}`);
      if (filters.nicknamePrefix) where.push(`lower(nickname) LIKE lower(${param(likePrefix(filters.nicknamePrefix))})`);
      if (filters.status) where.push(STATUS_IN_FORCE[filters.status]);
      if (filters.role) where.push(`${param(filters.role)} = ANY(roles)`);
      if (after) {
        where.push(`(created_at, id) < (timestamptz 'epoch' + ${param(after.createdAtMicros)}::bigint * interval '1 microsecond', ${param(after.id)})`);
      }
      const rows = await sequelize.query<Row>(
        `SELECT ${COLUMNS} FROM users ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ${param(limit)}`,
        { bind, type: QueryTypes.SELECT },
      );
      return rows.map(toAccount);
    },

    findById: (id: string, transaction?: Transaction) => one(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id], transaction),

    findByIdForUpdate: (id: string, transaction: Transaction) => one(`SELECT ${COLUMNS} FROM users WHERE id = $1 FOR UPDATE`, [id], transaction),

    findByEmail: (email: string, transaction?: Transaction) =>
      one(`SELECT ${COLUMNS} FROM users WHERE email_bidx = $1`, [cipher.blindIndex(normaliseEmail(email), 'user.email')], transaction),

    /**
     * Serialises every staff change to accounts (they are rare): two admins demoting each other
     * at once would otherwise each see the other still in office and leave no admin at all.
     */
    async lockStaffChanges(transaction: Transaction): Promise<void> {
      await sequelize.query(`SELECT pg_advisory_xact_lock(hashtext('junggo.users.staff-changes'))`, { transaction });
    },

    /** Admins whose account is usable now, other than `exceptId`. */
    async countOtherActiveAdmins(exceptId: string, transaction: Transaction): Promise<number> {
      const [row] = await sequelize.query<{ n: string }>(
        `SELECT count(*) AS n FROM users WHERE 'admin' = ANY(roles) AND id <> $1 AND ${STATUS_IN_FORCE.active}`,
        { bind: [exceptId], type: QueryTypes.SELECT, transaction },
      );
      return Number(row?.n ?? 0);
    },

    async setSuspension(id: string, s: { status: 'suspended' | 'banned'; until: Date | null; reason: string }, transaction: Transaction): Promise<Account> {
      return (await one(
        `UPDATE users SET status = $2, suspended_until = $3, suspension_reason = $4, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, s.status, s.until, s.reason],
        transaction,
      ))!;
    },

    async clearSuspension(id: string, transaction: Transaction): Promise<Account> {
      return (await one(
        `UPDATE users SET status = 'active', suspended_until = NULL, suspension_reason = NULL, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
        [id],
        transaction,
      ))!;
    },

    /** Lifts a suspension only if it has ended (and was not replaced meanwhile); null otherwise. */
    async clearEndedSuspension(id: string, transaction: Transaction): Promise<Account | null> {
      return one(
        `UPDATE users SET status = 'active', suspended_until = NULL, suspension_reason = NULL, updated_at = now()
          WHERE id = $1 AND status = 'suspended' AND suspended_until <= now() RETURNING ${COLUMNS}`,
        [id],
        transaction,
      );
    },

    /** Roles show in the user's own profile, so its version (ETag) moves too. */
    async setRoles(id: string, roles: Role[], transaction: Transaction): Promise<Account> {
      return (await one(
        `UPDATE users SET roles = $2::text[], version = version + 1, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, roles],
        transaction,
      ))!;
    },
  };
}

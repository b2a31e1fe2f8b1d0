import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { LocationConsent, NeighbourhoodRange, UserNeighbourhood } from '../domain/neighbourhood';

interface NeighbourhoodRow {
  dong_code: string;
  name: string;
  sido: string;
  sigungu: string;
  is_primary: boolean;
  range: NeighbourhoodRange;
  verified_at: Date;
  expires_at: Date;
  active: boolean;
}

const toNeighbourhood = (r: NeighbourhoodRow): UserNeighbourhood => ({
  dongCode: r.dong_code,
  name: r.name,
  sido: r.sido,
  sigungu: r.sigungu,
  primary: r.is_primary,
  range: r.range,
  verifiedAt: r.verified_at,
  expiresAt: r.expires_at,
  active: r.active,
});

const primaryThenLatest = (a: UserNeighbourhood, b: UserNeighbourhood) => Number(b.primary) - Number(a.primary) || b.verifiedAt.getTime() - a.verifiedAt.getTime();

const SELECT = `SELECT n.dong_code, d.name, d.sido, d.sigungu, n.is_primary, n.range, n.verified_at, n.expires_at, n.expires_at > now() AS active
                  FROM user_neighbourhoods n JOIN dongs d ON d.code = n.dong_code`;

/** Location consents and verified neighbourhoods. No coordinate is ever stored. */
export function createNeighbourhoodRepository(sequelize: Sequelize) {
  return {
    async consent(userId: string, transaction?: Transaction, lock = false): Promise<LocationConsent | null> {
      const [row] = await sequelize.query<{ terms_version: string; agreed_at: Date }>(
        `SELECT terms_version, agreed_at FROM location_consents WHERE user_id = $1${lock ? ' FOR UPDATE' : ''}`,
        { bind: [userId], type: QueryTypes.SELECT, transaction },
      );
      return row ? { termsVersion: row.terms_version, agreedAt: row.agreed_at } : null;
    },

    async saveConsent(userId: string, termsVersion: string, transaction: Transaction): Promise<LocationConsent> {
      const [row] = await sequelize.query<{ terms_version: string; agreed_at: Date }>(
        `INSERT INTO location_consents (user_id, terms_version, agreed_at) VALUES ($1, $2, now())
         ON CONFLICT (user_id) DO UPDATE SET terms_version = excluded.terms_version, agreed_at = excluded.agreed_at
         RETURNING terms_version, agreed_at`,
        { bind: [userId, termsVersion], type: QueryTypes.SELECT, transaction },
      );
      return { termsVersion: row!.terms_version, agreedAt: row!.agreed_at };
    },

    /** Deletes the consent and every neighbourhood; false when there was no consent. */
    async deleteConsent(userId: string, transaction: Transaction): Promise<{ deleted: boolean; dongCodes: string[] }> {
      const consents = await sequelize.query('DELETE FROM location_consents WHERE user_id = $1 RETURNING user_id', { bind: [userId], type: QueryTypes.SELECT, transaction });
      const dongs = await sequelize.query<{ dong_code: string }>('DELETE FROM user_neighbourhoods WHERE user_id = $1 RETURNING dong_code', {
        bind: [userId],
        type: QueryTypes.SELECT,
        transaction,
      });
      return { deleted: consents.length > 0, dongCodes: dongs.map((d) => d.dong_code) };
    },

    /**
     * The user's neighbourhoods, primary first; locked when `transaction` will change them, in
     * dong-code order for every writer (the primary moves, a code does not), so that no two lock
     * them in opposite orders.
     */
    async list(userId: string, transaction?: Transaction): Promise<UserNeighbourhood[]> {
      const rows = await sequelize.query<NeighbourhoodRow>(`${SELECT} WHERE n.user_id = $1 ORDER BY n.dong_code${transaction ? ' FOR UPDATE OF n' : ''}`, {
        bind: [userId],
        type: QueryTypes.SELECT,
        transaction,
      });
      return rows.map(toNeighbourhood).sort(primaryThenLatest);
    },

    async find(userId: string, dongCode: string, transaction?: Transaction): Promise<UserNeighbourhood | null> {
      const [row] = await sequelize.query<NeighbourhoodRow>(`${SELECT} WHERE n.user_id = $1 AND n.dong_code = $2${transaction ? ' FOR UPDATE OF n' : ''}`, {
        bind: [userId, dongCode],
        type: QueryTypes.SELECT,
        transaction,
      });
      return row ? toNeighbourhood(row) : null;
    },

    /** Inserts or renews the verification of a dong for `ttlDays`. */
    async upsertVerification(userId: string, dongCode: string, primary: boolean, ttlDays: number, transaction: Transaction): Promise<void> {
      await sequelize.query(
        `INSERT INTO user_neighbourhoods (user_id, dong_code, is_primary, verified_at, expires_at)
         VALUES ($1, $2, $3, now(), now() + make_interval(days => $4))
         ON CONFLICT (user_id, dong_code) DO UPDATE SET verified_at = excluded.verified_at, expires_at = excluded.expires_at`,
        { bind: [userId, dongCode, primary, ttlDays], transaction },
      );
    },

    async remove(userId: string, dongCodes: string[], transaction: Transaction): Promise<void> {
      if (dongCodes.length === 0) return;
      await sequelize.query('DELETE FROM user_neighbourhoods WHERE user_id = $1 AND dong_code = ANY($2::text[])', { bind: [userId, dongCodes], transaction });
    },

    /** Makes `dongCode` the user's only primary neighbourhood. */
    async setPrimary(userId: string, dongCode: string, transaction: Transaction): Promise<void> {
      // Two statements: the one-primary index is checked row by row within a statement.
      await sequelize.query('UPDATE user_neighbourhoods SET is_primary = false WHERE user_id = $1 AND is_primary AND dong_code <> $2', { bind: [userId, dongCode], transaction });
      await sequelize.query('UPDATE user_neighbourhoods SET is_primary = true WHERE user_id = $1 AND dong_code = $2', { bind: [userId, dongCode], transaction });
    },

    async setRange(userId: string, dongCode: string, range: NeighbourhoodRange, transaction: Transaction): Promise<void> {
      await sequelize.query('UPDATE user_neighbourhoods SET range = $3 WHERE user_id = $1 AND dong_code = $2', { bind: [userId, dongCode, range], transaction });
    },

    /** The active neighbourhood that counts for the user (primary first, then the latest). */
    async firstActive(userId: string): Promise<UserNeighbourhood | null> {
      const [row] = await sequelize.query<NeighbourhoodRow>(`${SELECT} WHERE n.user_id = $1 AND n.expires_at > now() ORDER BY n.is_primary DESC, n.verified_at DESC LIMIT 1`, {
        bind: [userId],
        type: QueryTypes.SELECT,
      });
      return row ? toNeighbourhood(row) : null;
    },
  };
}
export type NeighbourhoodRepository = ReturnType<typeof createNeighbourhoodRepository>;

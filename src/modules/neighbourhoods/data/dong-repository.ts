import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { Dong, ResolvedDong } from '../domain/dong';

/** Reads of the dong table; every search goes through the earthdistance GiST index. */
export function createDongRepository(sequelize: Sequelize) {
  return {
    /** The dong whose representative point is nearest (K-nearest-neighbour on the index). */
    async nearest(lat: number, lng: number, transaction?: Transaction): Promise<ResolvedDong | null> {
      const [row] = await sequelize.query<ResolvedDong>(
        `SELECT code, sido, sigungu, name, lat, lng,
                earth_distance(ll_to_earth(lat, lng), ll_to_earth($1, $2)) AS "distanceMeters"
           FROM dongs
          ORDER BY ll_to_earth(lat, lng) <-> ll_to_earth($1, $2)
          LIMIT 1`,
        { bind: [lat, lng], type: QueryTypes.SELECT, transaction },
      );
      return row ?? null;
    },

    async byCode(code: string): Promise<Dong | null> {
      const [row] = await sequelize.query<Dong>('SELECT code, sido, sigungu, name, lat, lng FROM dongs WHERE code = $1', {
        bind: [code],
        type: QueryTypes.SELECT,
      });
      return row ?? null;
    },

    /** Dongs whose representative points lie within `radiusMeters` of this dong's, nearest first (itself included). */
    async within(code: string, radiusMeters: number, transaction?: Transaction): Promise<(Dong & { distanceMeters: number })[]> {
      return sequelize.query<Dong & { distanceMeters: number }>(
        `SELECT d.code, d.sido, d.sigungu, d.name, d.lat, d.lng,
                earth_distance(ll_to_earth(c.lat, c.lng), ll_to_earth(d.lat, d.lng)) AS "distanceMeters"
           FROM dongs c
           JOIN dongs d ON earth_box(ll_to_earth(c.lat, c.lng), $2) @> ll_to_earth(d.lat, d.lng)
          WHERE c.code = $1
            AND earth_distance(ll_to_earth(c.lat, c.lng), ll_to_earth(d.lat, d.lng)) <= $2
          ORDER BY 7, d.code`,
        { bind: [code, radiusMeters], type: QueryTypes.SELECT, transaction },
      );
    },

    /** Every dong's representative point (3,526 rows: small enough to hold in memory). */
    async points(): Promise<{ code: string; lat: number; lng: number }[]> {
      return sequelize.query<{ code: string; lat: number; lng: number }>('SELECT code, lat, lng FROM dongs ORDER BY code', { type: QueryTypes.SELECT });
    },
  };
}
export type DongRepository = ReturnType<typeof createDongRepository>;

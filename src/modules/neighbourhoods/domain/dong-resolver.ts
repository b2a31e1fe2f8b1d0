import type { Transaction } from 'sequelize';
import { AppError } from '../../../platform/errors';
import { metresBetween } from '../../../platform/search';
import type { DongRepository } from '../data/dong-repository';
import { DEFAULT_NEIGHBOUR_RADIUS_METERS, MAX_DISTANCE_FROM_DONG_METERS, isValidCoordinate, type Dong, type ResolvedDong } from './dong';

const roundCoordinate = (x: number) => Math.round(x * 1e7) / 1e7 || 0;

type DongPoint = { code: string; lat: number; lng: number };

/** The index of the first point at or north of `lat` in points sorted by latitude (binary search). */
function firstAtLatitude(points: readonly DongPoint[], lat: number): number {
  let low = 0;
  let high = points.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (points[mid]!.lat < lat) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Resolves GPS coordinates to a 행정동 and a dong to its neighbourhood (동네인증, feeds). */
export function createDongResolver(repo: DongRepository) {
  // Dongs change only with a migration: their points are loaded once per process, so a radius
  // around an arbitrary point (search near=) is arithmetic instead of a query. Kept by latitude,
  // so that a radius reads only its band of latitude (217–307 of 3,526 dongs for 3 km at Seoul's
  // latitudes).
  let byLatitude: Promise<DongPoint[]> | null = null;
  const pointsByLatitude = () => {
    byLatitude ??= repo.points().then(
      (all) => [...all].sort((a, b) => a.lat - b.lat),
      (err: unknown) => {
        byLatitude = null;
        throw err;
      },
    );
    return byLatitude;
  };

  return {
    /**
     * The dong a coordinate falls in (nearest representative point); 422 when it is outside Korea.
     * `transaction`: the caller's open one, so that it needs no second pooled connection.
     */
    async resolve(lat: number, lng: number, transaction?: Transaction): Promise<ResolvedDong> {
      if (!isValidCoordinate(lat, lng)) throw new AppError(400, 'invalid_coordinates', 'Invalid coordinates', 'Latitude must be within ±90 and longitude within ±180.');
      // Digits past the seventh decimal (~1 cm) say nothing, and a subnormal float (5e-324) makes
      // earthdistance's ll_to_earth fail with "value out of range: underflow" (a 500 the fuzzer found).
      const nearest = await repo.nearest(roundCoordinate(lat), roundCoordinate(lng), transaction);
      if (!nearest || nearest.distanceMeters > MAX_DISTANCE_FROM_DONG_METERS) {
        throw new AppError(422, 'location_outside_service_area', 'Location outside the service area', 'These coordinates are not within any Korean administrative dong.');
      }
      return nearest;
    },

    /**
     * The dongs (code and representative point) within a radius of a point (none when it is far
     * from Korea), by code. A listing's location is its dong's representative point, so these are
     * exactly the dongs whose listings lie within the radius.
     */
    async pointsWithin(lat: number, lng: number, radiusMeters: number): Promise<DongPoint[]> {
      if (!isValidCoordinate(lat, lng)) throw new AppError(400, 'invalid_coordinates', 'Invalid coordinates', 'Latitude must be within ±90 and longitude within ±180.');
      const origin = { lat: roundCoordinate(lat), lng: roundCoordinate(lng) };
      // A box first (a degree of latitude is ~111 km; of longitude, that times cos(latitude)),
      // then the great-circle distance on earthdistance's sphere, as the SQL neighbourhoods use.
      const dLat = radiusMeters / 111_000 + 0.01;
      const dLng = dLat / Math.max(Math.cos((Math.abs(origin.lat) * Math.PI) / 180), 0.01);
      const points = await pointsByLatitude();
      const found: DongPoint[] = [];
      for (let i = firstAtLatitude(points, origin.lat - dLat); i < points.length && points[i]!.lat <= origin.lat + dLat; i++) {
        const d = points[i]!;
        if (Math.abs(d.lng - origin.lng) <= dLng && metresBetween(origin, d) <= radiusMeters) found.push(d);
      }
      return found.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
    },

    /**
     * The dong and the dongs around it, nearest first, for "my neighbourhood" feeds. `transaction`:
     * the caller's open one, so that it needs no second pooled connection.
     */
    async neighbourhood(code: string, radiusMeters = DEFAULT_NEIGHBOUR_RADIUS_METERS, transaction?: Transaction): Promise<Dong[]> {
      const dongs = await repo.within(code, radiusMeters, transaction);
      if (dongs.length === 0) throw new AppError(404, 'not_found', 'Not found', 'No dong has this code.');
      return dongs;
    },
  };
}
export type DongResolver = ReturnType<typeof createDongResolver>;

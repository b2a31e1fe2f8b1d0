/** An administrative dong (행정동) and its representative point. */
export interface Dong {
  code: string;
  sido: string;
  sigungu: string;
  name: string;
  lat: number;
  lng: number;
}

/** A dong found for a coordinate, with how far the coordinate is from its representative point. */
export interface ResolvedDong extends Dong {
  distanceMeters: number;
}

/**
 * Beyond this from every representative point a coordinate is at sea or outside Korea. Rural
 * 읍·면 are large, so it is generous; within cities the nearest point is a few hundred metres off.
 */
export const MAX_DISTANCE_FROM_DONG_METERS = 20_000;

/** Default radius that makes up a dong's neighbourhood for feeds and searches. */
export const DEFAULT_NEIGHBOUR_RADIUS_METERS = 3_000;

export const isValidCoordinate = (lat: number, lng: number) => Number.isFinite(lat) && Number.isFinite(lng) && lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180;

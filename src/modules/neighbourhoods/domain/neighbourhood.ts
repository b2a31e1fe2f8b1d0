/** How far "my neighbourhood" reaches around a dong (Karrot-style levels), in metres between representative points. */
export const RANGE_METERS = { near: 1_500, medium: 3_000, far: 6_000 } as const;
export type NeighbourhoodRange = keyof typeof RANGE_METERS;

/** A 동네인증 lasts this long; verifying again renews it. */
export const VERIFICATION_TTL_DAYS = 30;
/** Verified neighbourhoods a user may hold at once. */
export const MAX_NEIGHBOURHOODS = 2;
/** The location-based service terms in force (위치기반서비스 이용약관, by effective date). */
export const CURRENT_LOCATION_TERMS_VERSION = '2026-11-01';

export interface LocationConsent {
  termsVersion: string;
  agreedAt: Date;
}

/** A dong the user proved being in. */
export interface UserNeighbourhood {
  dongCode: string;
  name: string;
  sido: string;
  sigungu: string;
  primary: boolean;
  range: NeighbourhoodRange;
  verifiedAt: Date;
  expiresAt: Date;
  /** Not yet expired. */
  active: boolean;
}

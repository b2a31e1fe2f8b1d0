import type { components } from '../../../../generated/api';
import type { NeighbourhoodView } from '../domain/neighbourhoods';
import type { LocationConsent } from '../domain/neighbourhood';

type Schemas = components['schemas'];

export const toLocationConsent = (c: LocationConsent): Schemas['LocationConsent'] => ({
  object: 'location_consent',
  terms_version: c.termsVersion,
  agreed_at: c.agreedAt.toISOString(),
});

export const toNeighbourhood = (n: NeighbourhoodView): Schemas['Neighbourhood'] => ({
  object: 'neighbourhood',
  id: n.dongCode,
  dong_code: n.dongCode,
  name: n.name,
  sigungu: n.sigungu,
  sido: n.sido,
  primary: n.primary,
  active: n.active,
  range: n.range,
  verified_at: n.verifiedAt.toISOString(),
  expires_at: n.expiresAt.toISOString(),
  neighbours: n.neighbours.map((d) => ({ dong_code: d.dongCode, name: d.name, distance_meters: d.distanceMeters })),
});

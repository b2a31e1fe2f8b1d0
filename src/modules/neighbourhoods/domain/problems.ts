import { AppError } from '../../../platform/errors';

// The neighbourhoods component's expected failures, by problem code (documented per operation in the spec).

export const locationConsentRequired = () =>
  new AppError(403, 'location_consent_required', 'Location consent is required', 'Agree to the current location-based service terms before sending a location.');
export const locationTermsOutdated = (current: string) =>
  new AppError(422, 'location_terms_outdated', 'These terms are not the current ones', `Agree to the current location-based service terms, version ${current}.`, [
    { pointer: '/terms_version', code: 'location_terms_outdated', detail: `The current version is ${current}.` },
  ]);
export const neighbourhoodLimitReached = (max: number) =>
  new AppError(409, 'neighbourhood_limit_reached', 'Too many neighbourhoods', `A user may verify at most ${max} neighbourhoods. Remove one first.`);
export const neighbourhoodVerificationRequired = () =>
  new AppError(403, 'neighbourhood_verification_required', 'Neighbourhood verification is required', 'Verify your neighbourhood (동네인증) first; a verification lasts 30 days.');

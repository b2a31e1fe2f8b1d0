import { AppError } from '../../../../platform/errors';

// Identity verification's expected failures, by problem code (documented per operation in the spec).

export const accountAlreadyVerified = () => new AppError(409, 'account_already_verified', 'The account is already verified', 'This account has already passed identity verification.');
export const identityAlreadyVerified = () =>
  new AppError(409, 'identity_already_verified', 'The person already has a verified account', 'This identity already verifies another account: a person can verify one account only.');
export const verificationNotPending = () =>
  new AppError(409, 'identity_verification_not_pending', 'The verification was already used', 'This verification was already completed or attempted. Start a new one.');
export const verificationExpired = () => new AppError(422, 'identity_verification_expired', 'The verification expired', 'The verification was not completed in time. Start a new one.');
export const verificationNotCompleted = () =>
  new AppError(422, 'identity_verification_not_completed', 'The verification was not completed', 'The verification window was closed before the end. Start a new one.');
export const verificationInvalid = () =>
  new AppError(422, 'identity_verification_invalid', 'The verification result is not valid', 'The parameters do not belong to this verification or were altered. Start a new one.');
export const underage = () =>
  new AppError(422, 'identity_verification_underage', 'Too young to verify', 'Identity verification is open from the age of 14. Nothing about the person was kept.');
export const providerUnavailable = (retryAfterSeconds: number) =>
  new AppError(503, 'identity_provider_unavailable', 'The identity provider is unavailable', 'The identity verification service could not be reached. Try again shortly.', [], {
    'Retry-After': String(retryAfterSeconds),
  });
export const tooManyStarts = (retryAfterSeconds: number) =>
  new AppError(429, 'rate_limited', 'Too many requests', 'Too many identity verifications were started. Try again later.', [], { 'Retry-After': String(retryAfterSeconds) });

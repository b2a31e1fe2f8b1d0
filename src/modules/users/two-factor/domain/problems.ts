import { AppError } from '../../../../platform/errors';

// The two-factor component's expected failures, by problem code (documented per operation in the spec).

export const invalidOtpCode = () =>
  new AppError(422, 'invalid_otp_code', 'The code is not correct', 'The code is wrong, or was already used.', [{ pointer: '/code', code: 'invalid_otp_code', detail: 'Wrong or already used.' }]);
export const otpCodeExpired = () =>
  new AppError(422, 'otp_code_expired', 'No active code', 'No code is active: it expired, was used or was tried too often. Ask for a new one.', [
    { pointer: '/code', code: 'otp_code_expired', detail: 'Ask for a new code.' },
  ]);
export const invalidLoginChallenge = (detail = 'The challenge is unknown, expired or already completed. Sign in again.') =>
  new AppError(401, 'invalid_login_challenge', 'The login challenge is not valid', detail);
export const methodUnavailable = (method: string) =>
  new AppError(422, 'two_factor_method_unavailable', 'This second factor cannot be used here', `The account cannot sign in with ${method}.`, [
    { pointer: '/method', code: 'two_factor_method_unavailable', detail: 'Not one of the challenge methods.' },
  ]);
export const alreadyEnabled = (what: string) => new AppError(409, 'two_factor_already_enabled', 'Already enabled', `The ${what} is already on for this account.`);
export const notEnabled = (what: string) => new AppError(409, 'two_factor_not_enabled', 'Not enabled', `The ${what} is not on for this account.`);
export const totpEnrolmentNotFound = () =>
  new AppError(422, 'totp_enrolment_not_found', 'No enrolment to confirm', 'No authenticator enrolment was started in the last 15 minutes. Start again.');
export const phoneRequired = () =>
  new AppError(422, 'phone_required', 'The account has no phone number', 'Add a mobile phone number to the account before turning SMS codes on.');
export const tooManyOtpAttempts = (retryAfterSeconds: number) =>
  new AppError(429, 'too_many_otp_attempts', 'Too many codes tried', 'Too many codes were tried from this address. Try again later.', [], { 'Retry-After': String(retryAfterSeconds) });
export const tooManySmsRequests = (retryAfterSeconds: number) =>
  new AppError(429, 'too_many_sms_requests', 'Too many codes asked for', 'Too many SMS codes were asked for. Try again later.', [], { 'Retry-After': String(retryAfterSeconds) });

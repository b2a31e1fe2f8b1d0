import { AppError, type FieldError } from '../../../platform/errors';

// The users component's expected failures, by problem code (documented per operation in the spec).

export const invalidCredentials = () => new AppError(401, 'invalid_credentials', 'Wrong e-mail or password', 'The e-mail address or password is not correct.');
export const wrongCurrentPassword = () => new AppError(403, 'invalid_credentials', 'Wrong password', 'The current password is not correct.');
export const emailNotVerified = () =>
  new AppError(403, 'email_not_verified', 'The e-mail address is not verified', 'Confirm the address with the link we sent, or ask for a new one.');
export const accountSuspended = (until: Date | null) =>
  new AppError(403, 'account_suspended', 'The account is suspended', until ? `The account is suspended until ${until.toISOString()}.` : 'The account is banned.');
export const accountLocked = (retryAfterSeconds: number) =>
  new AppError(423, 'account_locked', 'The account is temporarily locked', `Too many failed attempts. Try again in ${Math.ceil(retryAfterSeconds / 60)} minutes or reset the password.`, [], {
    'Retry-After': String(retryAfterSeconds),
  });
export const tooManyAttempts = (retryAfterSeconds: number) =>
  new AppError(429, 'rate_limited', 'Too many requests', 'Too many attempts from this address. Try again later.', [], { 'Retry-After': String(retryAfterSeconds) });
export const nicknameTaken = () =>
  new AppError(409, 'nickname_taken', 'The nickname is taken', 'Another user has this nickname.', [{ pointer: '/nickname', code: 'nickname_taken', detail: 'Another user has this nickname.' }]);
export const nicknameReserved = () =>
  new AppError(422, 'nickname_reserved', 'The nickname is reserved', 'This nickname could be mistaken for staff.', [{ pointer: '/nickname', code: 'nickname_reserved', detail: 'Reserved for staff.' }]);
export const weakPassword = (pointer: string, problems: { code: string; detail: string }[]) =>
  new AppError(
    422,
    'weak_password',
    'The password is too weak',
    problems.map((p) => p.detail).join(' '),
    problems.map((p): FieldError => ({ pointer, code: p.code, detail: p.detail })),
  );
export const invalidToken = () => new AppError(422, 'invalid_token', 'The link is not valid', 'The link is unknown, used or expired. Ask for a new one.', [{ pointer: '/token', code: 'invalid_token', detail: 'Unknown, used or expired.' }]);
export const invalidRefreshToken = () => new AppError(401, 'invalid_refresh_token', 'The refresh token is not valid', 'The refresh token is unknown, expired or revoked. Sign in again.');
export const refreshTokenReused = () =>
  new AppError(401, 'refresh_token_reused', 'The refresh token was already used', 'This refresh token was already used, so the session was ended for safety. Sign in again.');

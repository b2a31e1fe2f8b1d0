import { AppError } from '../../../../platform/errors';
import type { SocialProviderName } from '../../../../integrations/social';

// The social sign-in's expected failures, by problem code (documented per operation in the spec).

const label = (p: SocialProviderName) => (p === 'google' ? 'Google' : 'Kakao');
/** How long a client should wait before starting again when a provider is down. */
export const PROVIDER_RETRY_AFTER_SECONDS = 30;

export const redirectUriNotAllowed = () =>
  new AppError(400, 'redirect_uri_not_allowed', 'The redirect URI is not allowed', 'redirect_uri must be one of the callback pages configured for this service.', [
    { parameter: 'redirect_uri', in: 'query', code: 'redirect_uri_not_allowed', detail: 'Not a configured callback page.' },
  ]);
export const invalidState = () =>
  new AppError(422, 'invalid_state', 'The sign-in is not valid', 'This sign-in is unknown, expired, already completed or was started elsewhere. Start again.', [
    { pointer: '/state', code: 'invalid_state', detail: 'Unknown, expired, used, or not started by this client.' },
  ]);
export const socialLoginCancelled = (p: SocialProviderName) =>
  new AppError(422, 'social_login_cancelled', 'The sign-in was cancelled', `The sign-in was declined at ${label(p)}.`);
export const socialLoginFailed = (p: SocialProviderName) =>
  new AppError(422, 'social_login_failed', 'The sign-in failed', `${label(p)} did not confirm this sign-in (the code may be used or expired). Start again.`);
export const providerUnavailable = (p: SocialProviderName) =>
  new AppError(503, 'provider_unavailable', 'The identity provider is unavailable', `${label(p)} did not answer. Try signing in again in a minute.`, [], {
    'Retry-After': String(PROVIDER_RETRY_AFTER_SECONDS),
  });
export const socialEmailUnverified = (p: SocialProviderName) =>
  new AppError(
    422,
    'social_email_unverified',
    'No verified e-mail address',
    `${label(p)} did not share a verified e-mail address. Verify it there (or allow sharing it), or register with e-mail and password.`,
  );
export const invalidLinkToken = () =>
  new AppError(422, 'invalid_link_token', 'The link request is not valid', 'The link request is unknown, expired or already used. Sign in with the provider again.', [
    { pointer: '/link_token', code: 'invalid_link_token', detail: 'Unknown, expired or used.' },
  ]);
export const passwordNotSet = () =>
  new AppError(422, 'password_not_set', 'The account has no password', 'Set a password with a reset link (requestPasswordReset) first, then confirm the link with it.');
export const socialAccountTaken = (p: SocialProviderName) =>
  new AppError(409, 'social_account_taken', 'The social account is linked elsewhere', `This ${label(p)} account is already linked to another Junggo account.`);
export const providerAlreadyLinked = (p: SocialProviderName) =>
  new AppError(409, 'provider_already_linked', 'Another social account is linked', `The Junggo account already has another ${label(p)} account linked.`);

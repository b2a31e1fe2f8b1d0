import type { SocialProviderName } from '../../../../integrations/social';
import type { Handler } from '../../../../platform/http/operations';
import type { SocialLoginService } from '../domain/social-login';

// The attempt's state is in the URL: neither the redirect nor the JSON may be cached or replayed.
const NO_STORE = 'no-store';

/** startGoogleLogin and startKakaoLogin: the same exchange (the two operations have one shape), one provider each. */
export const startSocialLogin =
  (social: SocialLoginService, provider: SocialProviderName): Handler<'startGoogleLogin'> & Handler<'startKakaoLogin'> =>
  async ({ ctx, query }) => {
    const { authorizationUrl, expiresAt } = await social.start(ctx, provider, { clientChallenge: query.client_challenge, redirectUri: query.redirect_uri });
    if (query.mode === 'json') {
      return {
        status: 200,
        headers: { 'Cache-Control': NO_STORE },
        body: { object: 'social_login_start', provider, authorization_url: authorizationUrl, expires_at: expiresAt.toISOString() },
      };
    }
    return { status: 302, headers: { Location: authorizationUrl, 'Cache-Control': NO_STORE } };
  };

import type { Handler } from '../../../../platform/http/operations';
import type { SocialLoginService } from '../domain/social-login';
import { toSocialLoginResult } from './social-mapper';

export const completeSocialLogin =
  (social: SocialLoginService): Handler<'completeSocialLogin'> =>
  async ({ ctx, body }) => {
    const { provider, state, client_verifier, device_name, code, iss, error, error_description } = body;
    const result = await social.complete(ctx, {
      provider,
      state,
      clientVerifier: client_verifier,
      params: { code, iss, error, error_description },
      deviceName: device_name,
    });
    return { status: 200, body: toSocialLoginResult(result) };
  };

import type { Handler } from '../../../../platform/http/operations';
import { toLoginResult } from '../../http/user-mapper';
import type { SocialLoginService } from '../domain/social-login';

export const linkSocialAccount =
  (social: SocialLoginService): Handler<'linkSocialAccount'> =>
  async ({ ctx, body }) => {
    const result = await social.confirmLink(ctx, { linkToken: body.link_token, password: body.password, deviceName: body.device_name });
    return { status: 200, body: toLoginResult(result) };
  };

import type { Handler } from '../../../../platform/http/operations';
import type { SocialLoginService } from '../domain/social-login';
import { startSocialLogin } from './start-social-login';

export const startKakaoLogin = (social: SocialLoginService): Handler<'startKakaoLogin'> => startSocialLogin(social, 'kakao');

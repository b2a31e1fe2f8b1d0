import type { Handler } from '../../../../platform/http/operations';
import type { SocialLoginService } from '../domain/social-login';
import { startSocialLogin } from './start-social-login';

export const startGoogleLogin = (social: SocialLoginService): Handler<'startGoogleLogin'> => startSocialLogin(social, 'google');

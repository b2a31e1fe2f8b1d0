export {
  createLoginAttempt,
  createPkce,
  pkceChallenge,
  randomNonce,
  randomState,
  SocialLoginError,
  type AuthorizationRequest,
  type CodeExchange,
  type Pkce,
  type SocialIdentity,
  type SocialLoginErrorCode,
  type SocialProvider,
  type SocialProviderName,
} from './social-provider';
export { createGoogleProvider, type GoogleOptions } from './google-client';
export { createKakaoProvider, fetchKakaoUser, KAKAO_API_BASE_URL, KAKAO_AUTH_BASE_URL, type KakaoOptions } from './kakao-client';
// The Google simulator is left out on purpose: it runs on oidc-provider, a devDependency the
// production image does not install. Tests and the simulator CLI import ./google-simulator directly.
export { KAKAO_SIMULATOR_DEFAULTS, startKakaoSimulator, type KakaoSimulator, type KakaoSimulatorOptions, type SimulatedKakaoUser } from './kakao-simulator';

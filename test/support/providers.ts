import type { NiceSimulator } from '../../src/integrations/identity';
import type { SmsSimulator } from '../../src/integrations/sms';
import type { KakaoSimulator } from '../../src/integrations/social';
import type { GoogleSimulator } from '../../src/integrations/social/google-simulator';

/**
 * The configuration that points the app at the provider simulators it is given (SENS, Google,
 * Kakao, NICE), with their credentials: one mapping for the test stacks, the fuzzer and the
 * contract-test app. SMTP and the social redirect URIs stay with the caller.
 */
export function providerEnv(p: { sms?: SmsSimulator; google?: GoogleSimulator; kakao?: KakaoSimulator; nice?: NiceSimulator }): Record<string, string> {
  return {
    ...(p.sms ? { SMS_PROVIDER_URL: p.sms.url, SMS_ACCESS_KEY: p.sms.accessKey, SMS_SECRET_KEY: p.sms.secretKey, SMS_SERVICE_ID: p.sms.serviceId } : {}),
    ...(p.google ? { GOOGLE_ISSUER: p.google.url, GOOGLE_CLIENT_ID: p.google.clientId, GOOGLE_CLIENT_SECRET: p.google.clientSecret } : {}),
    ...(p.kakao ? { KAKAO_AUTH_URL: p.kakao.url, KAKAO_API_URL: p.kakao.url, KAKAO_CLIENT_ID: p.kakao.clientId, KAKAO_CLIENT_SECRET: p.kakao.clientSecret } : {}),
    ...(p.nice ? { NICE_API_URL: p.nice.url, NICE_WINDOW_URL: p.nice.url } : {}),
  };
}

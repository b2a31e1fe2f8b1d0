import type Redis from 'ioredis';
import type { Config } from '../../../config';
import { createGoogleProvider, createKakaoProvider, type SocialProvider, type SocialProviderName } from '../../../integrations/social';
import { personalDataCipher, type UsersModule } from '../index';
import { createPendingLogins } from './data/pending-logins';
import { createSocialIdentityRepository } from './data/social-identity-repository';
import { socialLoginUseCases } from './domain/social-login';
import { completeSocialLogin } from './http/completeSocialLogin';
import { linkSocialAccount } from './http/linkSocialAccount';
import { startGoogleLogin } from './http/startGoogleLogin';
import { startKakaoLogin } from './http/startKakaoLogin';

/** The providers the config points at: Google and Kakao in production, their simulators locally. */
export function socialProviders(config: Config): Record<SocialProviderName, SocialProvider> {
  return {
    google: createGoogleProvider({ issuer: config.GOOGLE_ISSUER, clientId: config.GOOGLE_CLIENT_ID, clientSecret: config.GOOGLE_CLIENT_SECRET }),
    kakao: createKakaoProvider({
      authBaseUrl: config.KAKAO_AUTH_URL,
      apiBaseUrl: config.KAKAO_API_URL,
      clientId: config.KAKAO_CLIENT_ID,
      ...(config.KAKAO_CLIENT_SECRET ? { clientSecret: config.KAKAO_CLIENT_SECRET } : {}),
    }),
  };
}

/** Wires social sign-in (Google, Kakao) onto the users component: its sessions, accounts and events. */
export function socialModule(d: { config: Config; redis: Redis; users: Pick<UsersModule, 'deps' | 'service'>; providers?: Record<SocialProviderName, SocialProvider> }) {
  const { config, users } = d;
  const social = socialLoginUseCases({
    providers: d.providers ?? socialProviders(config),
    redirectBases: config.SOCIAL_REDIRECT_URIS,
    identities: createSocialIdentityRepository(users.deps.sequelize, personalDataCipher(config)),
    pending: createPendingLogins(d.redis),
    core: users.deps,
    sessions: users.service.sessions,
  });
  return {
    social,
    handlers: {
      startGoogleLogin: startGoogleLogin(social),
      startKakaoLogin: startKakaoLogin(social),
      completeSocialLogin: completeSocialLogin(social),
      linkSocialAccount: linkSocialAccount(social),
    },
  };
}

export type SocialModule = ReturnType<typeof socialModule>;

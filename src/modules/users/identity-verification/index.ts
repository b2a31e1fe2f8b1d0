import type Redis from 'ioredis';
import type { Config } from '../../../config';
import { createNiceIdentityVerifier, type IdentityVerifier } from '../../../integrations/identity';
import { createBlindIndexer, decodeKey } from '../../../platform/crypto/field-cipher';
import { AttemptLimiter } from '../../../platform/limits/attempt-limiter';
import type { Logger } from '../../../platform/logger';
import { personalDataCipher, type UsersModule } from '../index';
import { createIdentityVerificationRepository } from './data/identity-verification-repository';
import { identityVerificationUseCases } from './domain/identity-verification';
import { completeIdentityVerification } from './http/completeIdentityVerification';
import { getIdentityVerification } from './http/getIdentityVerification';
import { startIdentityVerification } from './http/startIdentityVerification';

/** The NICE client the config points at: NICE in production, its simulator locally. */
export function identityVerifier(config: Config): IdentityVerifier {
  return createNiceIdentityVerifier({
    baseUrl: config.NICE_API_URL,
    windowUrl: config.NICE_WINDOW_URL,
    clientId: config.NICE_CLIENT_ID,
    clientSecret: config.NICE_CLIENT_SECRET,
    productId: config.NICE_PRODUCT_ID,
  });
}

/** Wires identity verification (본인인증) onto the users component. */
export function identityVerificationModule(d: { config: Config; redis: Redis; log: Logger; users: Pick<UsersModule, 'deps'>; verifier?: IdentityVerifier }) {
  const { config, users } = d;
  const indexer = createBlindIndexer(decodeKey(config.BLIND_INDEX_KEY, 'BLIND_INDEX_KEY'));
  const webApp = config.WEB_APP_URL.replace(/\/+$/, '');
  const verification = identityVerificationUseCases({
    sequelize: users.deps.sequelize,
    verifications: createIdentityVerificationRepository(users.deps.sequelize, personalDataCipher(config)),
    verifier: d.verifier ?? identityVerifier(config),
    recordEvents: users.deps.recordEvents,
    ciHash: (ci) => indexer.keyedHash(ci, 'user.ci'),
    returnUrl: (id) => `${webApp}/identity-verification/${id}/return`,
    startLimit: new AttemptLimiter(d.redis, { name: 'identity-verify-start', limit: 5, windowSeconds: 3600 }, d.log),
  });
  return {
    verification,
    handlers: {
      startIdentityVerification: startIdentityVerification(verification),
      getIdentityVerification: getIdentityVerification(verification),
      completeIdentityVerification: completeIdentityVerification(verification),
    },
  };
}

export type IdentityVerificationModule = ReturnType<typeof identityVerificationModule>;

import type Redis from 'ioredis';
import type { Sequelize } from 'sequelize';
import type { Config } from '../../config';
import { personalDataKeys } from '../../platform/crypto/field-cipher';
import { lazyCollection, type DocumentStore } from '../../platform/documents/document-store';
import { eventRecorder } from '../../platform/events/event-store';
import type { JobQueues } from '../../platform/jobs/job-queues';
import { AttemptLimiter } from '../../platform/limits/attempt-limiter';
import type { Logger } from '../../platform/logger';
import { queuedAccountMail } from './account-mail';
import { createAccountTokenRepository } from './data/account-token-repository';
import type { PersonalDataCipher } from './data/personal-data';
import { createSessionRepository } from './data/session-repository';
import { TokenRevocations } from './data/token-revocations';
import { createUserRepository } from './data/user-repository';
import type { UsersDeps } from './domain/deps';
import { createPasswordHasher } from './domain/password-hasher';
import { changeMyPassword } from './http/changeMyPassword';
import { getMyProfile } from './http/getMyProfile';
import { getUser } from './http/getUser';
import { listMySessions } from './http/listMySessions';
import { logIn } from './http/logIn';
import { logOut } from './http/logOut';
import { refreshSession } from './http/refreshSession';
import { registerUser } from './http/registerUser';
import { requestPasswordReset } from './http/requestPasswordReset';
import { resendVerificationEmail } from './http/resendVerificationEmail';
import { resetPassword } from './http/resetPassword';
import { revokeMySession } from './http/revokeMySession';
import { updateMyProfile } from './http/updateMyProfile';
import { verifyEmail } from './http/verifyEmail';
import { createUsersService } from './service';
import { twoFactorModule } from './two-factor';
import { USER_PROFILES, type UserProfileDoc } from './user-profile.projection';

export function personalDataCipher(config: Config): PersonalDataCipher {
  const { cipher, indexer } = personalDataKeys(config);
  return { encrypt: cipher.encrypt, decrypt: cipher.decrypt, blindIndex: indexer.blindIndex };
}

/** Wires the users component (accounts, sessions, profiles): repositories, limits, use cases, handlers. */
export async function usersModule(d: { config: Config; sequelize: Sequelize; redis: Redis; store: DocumentStore; jobs: JobQueues; log: Logger }) {
  const { config, sequelize, redis, log } = d;
  const sessions = createSessionRepository(sequelize);
  const limiter = (name: string, limit: number, windowSeconds: number, lockSeconds?: number) =>
    new AttemptLimiter(redis, { name, limit, windowSeconds, ...(lockSeconds ? { lockSeconds } : {}) }, log);
  const deps: UsersDeps = {
    sequelize,
    users: createUserRepository(sequelize, personalDataCipher(config)),
    sessions,
    accountTokens: createAccountTokenRepository(sequelize),
    revocations: new TokenRevocations(redis, config.ACCESS_TOKEN_TTL_SECONDS, (sid) => sessions.isActive(sid), log),
    hasher: await createPasswordHasher(),
    mail: queuedAccountMail(d.jobs, config.WEB_APP_URL),
    recordEvents: eventRecorder(sequelize),
    tokens: {
      secret: config.JWT_SECRET,
      issuer: config.JWT_ISSUER,
      accessTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
      refreshTtlSeconds: config.REFRESH_TOKEN_TTL_DAYS * 86400,
    },
    limits: {
      loginAccount: limiter('login-account', 10, 900, 900),
      loginIp: limiter('login-ip', 20, 900),
      emailAccount: limiter('email-account', 3, 3600),
      emailIp: limiter('email-ip', 10, 3600),
      registerIp: limiter('register-ip', 5, 3600),
    },
  };
  const service = createUsersService(deps, lazyCollection<UserProfileDoc>(d.store, USER_PROFILES));
  const twoFactor = twoFactorModule({ sequelize, redis, jobs: d.jobs, log, cipher: personalDataCipher(config), users: deps, sessions: service.sessions });
  deps.secondFactor = twoFactor.gate;
  return {
    service,
    deps,
    /** For `authenticate`: tokens of ended sessions and blocked users stop at once. */
    tokenGuard: deps.revocations,
    handlers: {
      registerUser: registerUser(service),
      verifyEmail: verifyEmail(service),
      resendVerificationEmail: resendVerificationEmail(service),
      requestPasswordReset: requestPasswordReset(service),
      resetPassword: resetPassword(service),
      logIn: logIn(service),
      refreshSession: refreshSession(service),
      logOut: logOut(service),
      listMySessions: listMySessions(service),
      revokeMySession: revokeMySession(service),
      changeMyPassword: changeMyPassword(service),
      getMyProfile: getMyProfile(service),
      updateMyProfile: updateMyProfile(service),
      getUser: getUser(service),
      ...twoFactor.handlers,
    },
  };
}

export type UsersModule = Awaited<ReturnType<typeof usersModule>>;

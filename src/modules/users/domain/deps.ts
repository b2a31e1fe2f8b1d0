import type { Sequelize } from 'sequelize';
import type { RecordEvents } from '../../../platform/events/event-store';
import type { AttemptLimiter } from '../../../platform/limits/attempt-limiter';
import type { AccountTokenRepository } from '../data/account-token-repository';
import type { SessionRepository } from '../data/session-repository';
import type { TokenRevocations } from '../data/token-revocations';
import type { UserRepository } from '../data/user-repository';
import type { AccountMail } from './account-mail';
import type { PasswordHasher } from './password-hasher';
import type { SecondFactorGate } from './sessions';

export interface TokenSettings {
  secret: string;
  issuer: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
}

/** What the users use cases work with; built once by the module. */
export interface UsersDeps {
  sequelize: Sequelize;
  users: UserRepository;
  sessions: SessionRepository;
  accountTokens: AccountTokenRepository;
  revocations: TokenRevocations;
  hasher: PasswordHasher;
  mail: AccountMail;
  recordEvents: RecordEvents;
  tokens: TokenSettings;
  /** Set by the two-factor component; absent, sign-ins never need a second factor. */
  secondFactor?: SecondFactorGate;
  limits: {
    /** Failed sign-ins per account (blind index of the e-mail), with a lock. */
    loginAccount: AttemptLimiter;
    /** Failed sign-ins per IP address. */
    loginIp: AttemptLimiter;
    /** E-mails asked for (reset, resend) per address and per IP. */
    emailAccount: AttemptLimiter;
    emailIp: AttemptLimiter;
    registerIp: AttemptLimiter;
  };
}

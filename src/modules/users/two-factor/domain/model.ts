import type { Sequelize } from 'sequelize';
import type { RecordEvents } from '../../../../platform/events/event-store';
import type { AttemptLimiter } from '../../../../platform/limits/attempt-limiter';
import type { UserRepository } from '../../data/user-repository';
import type { PasswordHasher } from '../../domain/password-hasher';
import type { UsersService } from '../../service';
import type { TwoFactorRepository } from '../data/two-factor-repository';

export type SecondFactorMethod = 'totp' | 'sms' | 'recovery_code';

/** What an account has, as the API shows it; `recoveryCodes` only in the answer that issued them. */
export interface TwoFactorState {
  totp: boolean;
  sms: boolean;
  recoveryCodesRemaining: number;
  recoveryCodes?: string[];
}

/** Where SMS codes go out: the worker's `sms.send` job in production and tests alike. */
export interface SmsOutbox {
  send(to: string, text: string, causationId: string): Promise<void>;
}

/** What the two-factor use cases work with; built once by the component's wiring. */
export interface TwoFactorDeps {
  sequelize: Sequelize;
  users: UserRepository;
  store: TwoFactorRepository;
  hasher: PasswordHasher;
  recordEvents: RecordEvents;
  sessions: Pick<UsersService['sessions'], 'issueSession' | 'assertMaySignIn'>;
  sms: SmsOutbox;
  qrCode: (text: string) => Promise<string>;
  limits: {
    /** The users component's sign-in lock: a wrong password here counts towards it. */
    loginAccount: AttemptLimiter;
    /** Wrong second-factor codes per account (user id), with a lock. */
    otpAccount: AttemptLimiter;
    /** Second-factor codes tried per IP address. */
    otpIp: AttemptLimiter;
    /** SMS codes asked for, per account and per IP address. */
    smsAccount: AttemptLimiter;
    smsIp: AttemptLimiter;
  };
}

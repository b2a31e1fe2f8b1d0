import type Redis from 'ioredis';
import QRCode from 'qrcode';
import type { Sequelize } from 'sequelize';
import type { JobQueues } from '../../../platform/jobs/job-queues';
import { AttemptLimiter } from '../../../platform/limits/attempt-limiter';
import type { Logger } from '../../../platform/logger';
import type { PersonalDataCipher } from '../data/personal-data';
import type { UsersDeps } from '../domain/deps';
import type { UsersService } from '../service';
import { createTwoFactorRepository } from './data/two-factor-repository';
import { enrolmentUseCases } from './domain/enrolment';
import type { TwoFactorDeps } from './domain/model';
import { signInUseCases } from './domain/sign-in';
import { completeLoginChallenge } from './http/completeLoginChallenge';
import { confirmSmsEnrolment } from './http/confirmSmsEnrolment';
import { confirmTotpEnrolment } from './http/confirmTotpEnrolment';
import { disableSmsTwoFactor } from './http/disableSmsTwoFactor';
import { disableTotp } from './http/disableTotp';
import { getMyTwoFactor } from './http/getMyTwoFactor';
import { regenerateRecoveryCodes } from './http/regenerateRecoveryCodes';
import { sendLoginChallengeSms } from './http/sendLoginChallengeSms';
import { sendTwoFactorSmsCode } from './http/sendTwoFactorSmsCode';
import { startSmsEnrolment } from './http/startSmsEnrolment';
import { startTotpEnrolment } from './http/startTotpEnrolment';
import { queuedSms } from './sms-outbox';

export function createTwoFactorService(deps: TwoFactorDeps) {
  return { enrolment: enrolmentUseCases(deps), signIn: signInUseCases(deps) };
}

export type TwoFactorService = ReturnType<typeof createTwoFactorService>;

/**
 * Wires the two-factor sub-component of users (authenticator app, SMS codes, recovery codes,
 * login challenges) on top of the users component's repositories and sessions. `gate` is what
 * the users component's sign-in consults.
 */
export function twoFactorModule(d: {
  sequelize: Sequelize;
  redis: Redis;
  jobs: JobQueues;
  log: Logger;
  cipher: PersonalDataCipher;
  users: UsersDeps;
  sessions: UsersService['sessions'];
}) {
  const limiter = (name: string, limit: number, windowSeconds: number, lockSeconds?: number) =>
    new AttemptLimiter(d.redis, { name, limit, windowSeconds, ...(lockSeconds ? { lockSeconds } : {}) }, d.log);
  const service = createTwoFactorService({
    sequelize: d.sequelize,
    users: d.users.users,
    store: createTwoFactorRepository(d.sequelize, d.cipher),
    hasher: d.users.hasher,
    recordEvents: d.users.recordEvents,
    sessions: d.sessions,
    sms: queuedSms(d.jobs),
    qrCode: (text) => QRCode.toDataURL(text, { errorCorrectionLevel: 'M', margin: 1, width: 240 }),
    limits: {
      loginAccount: d.users.limits.loginAccount,
      // Three codes of a million are valid at a time: 10 guesses an hour keeps a month of guessing near 1 %.
      otpAccount: limiter('otp-account', 10, 3600, 3600),
      otpIp: limiter('otp-ip', 30, 900),
      smsAccount: limiter('sms-account', 5, 3600),
      smsIp: limiter('sms-ip', 10, 3600),
    },
  });
  return {
    service,
    gate: service.signIn.gate,
    handlers: {
      getMyTwoFactor: getMyTwoFactor(service),
      startTotpEnrolment: startTotpEnrolment(service),
      confirmTotpEnrolment: confirmTotpEnrolment(service),
      disableTotp: disableTotp(service),
      regenerateRecoveryCodes: regenerateRecoveryCodes(service),
      startSmsEnrolment: startSmsEnrolment(service),
      confirmSmsEnrolment: confirmSmsEnrolment(service),
      sendTwoFactorSmsCode: sendTwoFactorSmsCode(service),
      disableSmsTwoFactor: disableSmsTwoFactor(service),
      sendLoginChallengeSms: sendLoginChallengeSms(service),
      completeLoginChallenge: completeLoginChallenge(service),
    },
  };
}

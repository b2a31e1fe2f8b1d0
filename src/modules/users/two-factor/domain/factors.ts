import type { Transaction } from 'sequelize';
import type { RequestContext } from '../../../../platform/context';
import { inTransaction } from '../../../../platform/db/transaction';
import { requireAccount } from '../../../../platform/errors';
import { metadataFrom } from '../../../../platform/events/event-store';
import { accountLocked, wrongCurrentPassword } from '../../domain/problems';
import type { User } from '../../domain/user';
import type { SmsPurpose } from '../data/two-factor-repository';
import { e164, isRecoveryCodeShaped, maskPhone, newRecoveryCode, newSmsCode, normaliseRecoveryCode, RECOVERY_CODE_COUNT, totpStep } from './codes';
import type { TwoFactorDeps, TwoFactorState } from './model';
import { otpCodeExpired, tooManyOtpAttempts, tooManySmsRequests } from './problems';

export const SMS_CODE_TTL_SECONDS = 180;
export const SMS_CODE_MAX_ATTEMPTS = 5;

const SMS_LABEL: Record<SmsPurpose, string> = { login: '로그인', enrol: '2단계 인증 등록', reauth: '본인 확인' };

/** The checks every second-factor use case shares: password, codes, their limits, SMS sending. */
export function factorChecks(deps: TwoFactorDeps) {
  const { sequelize, users, store, hasher, limits, recordEvents } = deps;

  /** A confirmed authenticator's code, valid now and not used before. */
  async function totpMatches(userId: string, code: string): Promise<boolean> {
    const credential = await store.totp.find(userId);
    if (!credential?.confirmedAt || !/^\d{6}$/.test(code)) return false;
    const step = totpStep(credential.secret, code);
    return step !== null && (await store.totp.useStep(userId, step));
  }

  /** One of the user's unused recovery codes, used up by the match. */
  const recoveryCodeMatches = (userId: string, code: string) =>
    isRecoveryCodeShaped(code) ? store.recoveryCodes.consume(userId, normaliseRecoveryCode(code)) : Promise.resolve(false);

  return {
    /** Re-authentication: like changing the password, a wrong one counts towards the sign-in lock. */
    async assertPassword(user: User, password: string): Promise<void> {
      const accountKey = users.emailIndex(user.email);
      // Taken before verifying, as at sign-in: concurrent guesses cannot outrun the lock.
      const outcome = await limits.loginAccount.attempt(accountKey, () => hasher.verify(user.passwordHash, password));
      if (outcome.right) return;
      if (!outcome.state.allowed) throw accountLocked(outcome.state.retryAfterSeconds);
      throw wrongCurrentPassword();
    },

    /**
     * Before any code is compared: the address's throttle (every try counts, known account or
     * not) and the account's lock (counted on the user id, so a new X-Forwarded-For changes nothing).
     */
    async guardCodeAttempt(ctx: RequestContext, userId: string | null): Promise<void> {
      const ip = await limits.otpIp.hit(ctx.client.ip);
      if (!ip.allowed) throw tooManyOtpAttempts(ip.retryAfterSeconds);
      if (!userId) return;
      // Counted now, before the code is compared (concurrent guesses cannot outrun the lock);
      // a right code resets the count (rightCode), a wrong one keeps it (countWrongCode).
      const lock = await limits.otpAccount.take(userId);
      if (!lock.allowed) throw accountLocked(lock.retryAfterSeconds);
    },

    /** A wrong code, its attempt taken by guardCodeAttempt: it stays counted, and the error says when it starts the lock. */
    async countWrongCode(userId: string): Promise<void> {
      const after = await limits.otpAccount.failed(userId);
      if (!after.allowed) throw accountLocked(after.retryAfterSeconds);
    },

    rightCode: (userId: string) => limits.otpAccount.reset(userId),

    /**
     * Runs a code comparison under the attempt guardCodeAttempt took. When it cannot compare (no
     * code is active, say) the attempt is given back: no guess was made, so none counts.
     */
    async compareCode(userId: string, compare: () => Promise<boolean>): Promise<boolean> {
      try {
        return await compare();
      } catch (err) {
        await limits.otpAccount.release(userId);
        throw err;
      }
    },

    totpMatches,
    recoveryCodeMatches,

    /**
     * Any second factor the account has, for re-authentication: a recovery code by its shape, else
     * an authenticator code, else the SMS code sent for re-authentication.
     */
    async anyFactorMatches(user: User, code: string): Promise<boolean> {
      if (isRecoveryCodeShaped(code)) return recoveryCodeMatches(user.id, code);
      if (user.twoFactor.totp && (await totpMatches(user.id, code))) return true;
      if (!user.twoFactor.sms) return false;
      return (await store.smsCodes.check({ userId: user.id, purpose: 'reauth', challengeHash: null, code, maxAttempts: SMS_CODE_MAX_ATTEMPTS })) === 'right';
    },

    /** Checks an SMS code; none active is a 422 of its own, so the client knows to ask for another. */
    async smsCodeMatches(userId: string, purpose: SmsPurpose, challengeHash: string | null, code: string): Promise<boolean> {
      const outcome = await store.smsCodes.check({ userId, purpose, challengeHash, code, maxAttempts: SMS_CODE_MAX_ATTEMPTS });
      if (outcome === 'none') throw otpCodeExpired();
      return outcome === 'right';
    },

    /** Sends a fresh code to the account's phone (replacing the previous one), under both send limits. */
    async sendSmsCode(ctx: RequestContext, user: User, purpose: SmsPurpose, challengeHash: string | null): Promise<{ phone: string; expiresAt: Date }> {
      const ip = await limits.smsIp.hit(ctx.client.ip);
      if (!ip.allowed) throw tooManySmsRequests(ip.retryAfterSeconds);
      const account = await limits.smsAccount.hit(user.id);
      if (!account.allowed) throw tooManySmsRequests(account.retryAfterSeconds);
      const phone = user.phone!;
      const code = newSmsCode();
      const issued = await inTransaction(sequelize, ctx, (t) => store.smsCodes.issue({ userId: user.id, purpose, challengeHash, code, ttlSeconds: SMS_CODE_TTL_SECONDS }, t));
      // After the commit, and awaited: if the job cannot be queued the client gets a 500 and asks again.
      await deps.sms.send(e164(phone), `[Junggo] ${SMS_LABEL[purpose]} 인증번호 [${code}] 3분 안에 입력하세요. 타인에게 알려주지 마세요.`, issued.id);
      return { phone: maskPhone(phone), expiresAt: issued.expiresAt };
    },

    /** Issues the first set of recovery codes, or a new one replacing every earlier code. */
    async issueRecoveryCodes(userId: string, t: Transaction): Promise<string[]> {
      const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
      await store.recoveryCodes.replace(userId, codes.map(normaliseRecoveryCode), t);
      return codes;
    },

    async state(userId: string, recoveryCodes?: string[]): Promise<TwoFactorState> {
      const user = requireAccount(await users.findById(userId));
      const remaining = user.twoFactor.totp || user.twoFactor.sms ? await store.recoveryCodes.countUnused(userId) : 0;
      return { totp: user.twoFactor.totp, sms: user.twoFactor.sms, recoveryCodesRemaining: remaining, ...(recoveryCodes ? { recoveryCodes } : {}) };
    },

    /** One event on the user's stream, in its own transaction (failures, which change nothing else). */
    record: (ctx: RequestContext, userId: string, type: string, payload: Record<string, unknown>) =>
      inTransaction(sequelize, ctx, (t) => recordEvents(t, { type: 'user', id: userId }, [{ type, payload: { user_id: userId, ...payload } }], metadataFrom(ctx))),
  };
}

export type FactorChecks = ReturnType<typeof factorChecks>;

import { randomBytes } from 'node:crypto';
import type { RequestContext } from '../../../../platform/context';
import { inTransaction } from '../../../../platform/db/transaction';
import { accountLocked } from '../../domain/problems';
import type { IssuedTokens, LoginChallenge, SecondFactorGate } from '../../domain/sessions';
import type { User } from '../../domain/user';
import { factorChecks } from './factors';
import type { SecondFactorMethod, TwoFactorDeps } from './model';
import { invalidLoginChallenge, invalidOtpCode, methodUnavailable } from './problems';

const CHALLENGE_TTL_SECONDS = 5 * 60;
const CHALLENGE_MAX_ATTEMPTS = 5;

/** The second step of signing in: challenges, their SMS codes, and their completion. */
export function signInUseCases(deps: TwoFactorDeps) {
  const { users, store, sessions, sequelize } = deps;
  const checks = factorChecks(deps);

  const gate: SecondFactorGate = {
    async challengeFor(ctx: RequestContext, user: User, method: string, deviceName: string | undefined): Promise<LoginChallenge | null> {
      if (!user.twoFactor.totp && !user.twoFactor.sms) return null;
      // A locked second factor is a locked account: no point handing out a challenge that cannot be met.
      const lock = await deps.limits.otpAccount.check(user.id);
      if (!lock.allowed) throw accountLocked(lock.retryAfterSeconds);
      const methods: SecondFactorMethod[] = [];
      if (user.twoFactor.totp) methods.push('totp');
      if (user.twoFactor.sms && user.phone) methods.push('sms');
      if ((await store.recoveryCodes.countUnused(user.id)) > 0) methods.push('recovery_code');
      const challengeToken = `lc_${randomBytes(32).toString('base64url')}`;
      const expiresAt = await store.challenges.create(challengeToken, { userId: user.id, firstFactor: method, methods, deviceName: deviceName ?? null, ttlSeconds: CHALLENGE_TTL_SECONDS });
      ctx.log.info({ user_id: user.id, methods }, 'second factor required');
      return { challengeToken, methods, expiresAt };
    },
  };

  return {
    gate,

    /** Sends the SMS code of a challenge whose methods include SMS. */
    async sendChallengeSms(ctx: RequestContext, challengeToken: string) {
      const challenge = await store.challenges.findOpen(challengeToken, CHALLENGE_MAX_ATTEMPTS);
      if (!challenge) throw invalidLoginChallenge();
      if (!challenge.methods.includes('sms')) throw methodUnavailable('sms');
      const user = await users.findById(challenge.userId);
      if (!user?.twoFactor.sms || !user.phone) throw methodUnavailable('sms');
      return checks.sendSmsCode(ctx, user, 'login', challenge.tokenHash);
    },

    /**
     * Completes a challenge with one of its methods. Every try spends one of the challenge's five,
     * taken before the code is compared; wrong codes also count towards the account's lock.
     */
    async complete(ctx: RequestContext, challengeToken: string, method: SecondFactorMethod, code: string): Promise<IssuedTokens> {
      await checks.guardCodeAttempt(ctx, null);
      const challenge = await store.challenges.takeAttempt(challengeToken, CHALLENGE_MAX_ATTEMPTS);
      if (!challenge) throw invalidLoginChallenge();
      if (!challenge.methods.includes(method)) throw methodUnavailable(method);
      const user = await users.findById(challenge.userId);
      if (!user) throw invalidLoginChallenge();
      sessions.assertMaySignIn(user);
      // Taken before the code is compared (see guardCodeAttempt); settled by countWrongCode or rightCode.
      const lock = await deps.limits.otpAccount.take(user.id);
      if (!lock.allowed) throw accountLocked(lock.retryAfterSeconds);

      const right = await checks.compareCode(user.id, async () =>
        method === 'totp'
          ? user.twoFactor.totp && (await checks.totpMatches(user.id, code))
          : method === 'sms'
            ? user.twoFactor.sms && (await checks.smsCodeMatches(user.id, 'login', challenge.tokenHash, code))
            : checks.recoveryCodeMatches(user.id, code),
      );
      if (!right) {
        await checks.record(ctx, user.id, 'user.login_challenge_failed', { method, attempts: challenge.attempts, ip_address: ctx.client.ip, user_agent: ctx.client.userAgent });
        await checks.countWrongCode(user.id);
        if (challenge.attempts >= CHALLENGE_MAX_ATTEMPTS) throw invalidLoginChallenge('Too many wrong codes: this challenge is over. Sign in again.');
        throw invalidOtpCode();
      }
      await checks.rightCode(user.id);
      return inTransaction(sequelize, ctx, async (t) => {
        if (!(await store.challenges.consume(challenge.tokenHash, t))) throw invalidLoginChallenge();
        return sessions.issueSession(ctx, user, `${challenge.firstFactor}+${method}`, challenge.deviceName ?? undefined, t);
      });
    },
  };
}

import type { Transaction } from 'sequelize';
import type { RequestContext } from '../../../../platform/context';
import { inTransaction } from '../../../../platform/db/transaction';
import { requireAccount } from '../../../../platform/errors';
import { metadataFrom } from '../../../../platform/events/event-store';
import type { User } from '../../domain/user';
import { newTotpSecret, otpauthUri, totpStep } from './codes';
import { factorChecks } from './factors';
import type { TwoFactorDeps, TwoFactorState } from './model';
import { alreadyEnabled, invalidOtpCode, notEnabled, phoneRequired, totpEnrolmentNotFound } from './problems';

const TOTP_ENROLMENT_TTL_SECONDS = 15 * 60;

type Method = 'totp' | 'sms';
const flagOf = (user: User, method: Method) => (method === 'totp' ? user.twoFactor.totp : user.twoFactor.sms);
const otherOf = (method: Method): Method => (method === 'totp' ? 'sms' : 'totp');
const LABEL: Record<Method, string> = { totp: 'authenticator app', sms: 'SMS second factor' };

export interface TotpEnrolment {
  secret: string;
  otpauthUri: string;
  qrCodeDataUrl: string;
  expiresAt: Date;
}

/** Turning second factors on and off, and recovery codes: the signed-in user's own settings. */
export function enrolmentUseCases(deps: TwoFactorDeps) {
  const { sequelize, users, store, recordEvents } = deps;
  const checks = factorChecks(deps);

  const currentUser = async (userId: string) => requireAccount(await users.findById(userId));

  /** A wrong code counts against the account; the error says whether it just locked it. */
  async function refuseCode(userId: string): Promise<never> {
    await checks.countWrongCode(userId);
    throw invalidOtpCode();
  }

  /**
   * Flips one method on, in one transaction with its event; the account's first method also
   * brings the recovery codes, returned this once.
   */
  async function turnOn(ctx: RequestContext, userId: string, method: Method, extra: (t: Transaction) => Promise<void>): Promise<TwoFactorState> {
    const codes = await inTransaction(sequelize, ctx, async (t) => {
      const user = requireAccount(await users.findByIdForUpdate(userId, t));
      if (flagOf(user, method)) throw alreadyEnabled(LABEL[method]);
      await extra(t);
      await store.setFlags(userId, { [method]: true }, t);
      const issued = flagOf(user, otherOf(method)) ? undefined : await checks.issueRecoveryCodes(userId, t);
      await recordEvents(t, { type: 'user', id: userId }, [{ type: 'user.two_factor_enabled', payload: { user_id: userId, method } }], metadataFrom(ctx));
      return issued;
    });
    await checks.rightCode(userId);
    return checks.state(userId, codes);
  }

  /** Password and a second factor, for what would weaken or reveal the account's protection. */
  async function reauthenticate(ctx: RequestContext, user: User, password: string, code: string): Promise<void> {
    await checks.assertPassword(user, password);
    await checks.guardCodeAttempt(ctx, user.id);
    if (!(await checks.anyFactorMatches(user, code))) await refuseCode(user.id);
    await checks.rightCode(user.id);
  }

  async function turnOff(ctx: RequestContext, userId: string, method: Method, password: string, code: string): Promise<TwoFactorState> {
    const user = await currentUser(userId);
    if (!flagOf(user, method)) throw notEnabled(LABEL[method]);
    await reauthenticate(ctx, user, password, code);
    await inTransaction(sequelize, ctx, async (t) => {
      const locked = requireAccount(await users.findByIdForUpdate(userId, t));
      if (!flagOf(locked, method)) throw notEnabled(LABEL[method]);
      if (method === 'totp') await store.totp.remove(userId, t);
      await store.setFlags(userId, { [method]: false }, t);
      // Recovery codes stand in for the second factors; with none left they would be a back door.
      if (!flagOf(locked, otherOf(method))) await store.removeAll(userId, t);
      await recordEvents(t, { type: 'user', id: userId }, [{ type: 'user.two_factor_disabled', payload: { user_id: userId, method } }], metadataFrom(ctx));
    });
    return checks.state(userId);
  }

  return {
    state: (userId: string) => checks.state(userId),

    /** A new authenticator secret, pending until a code from it confirms it. */
    async startTotp(ctx: RequestContext, userId: string, password: string): Promise<TotpEnrolment> {
      const user = await currentUser(userId);
      await checks.assertPassword(user, password);
      if (user.twoFactor.totp) throw alreadyEnabled(LABEL.totp);
      const secret = newTotpSecret();
      const saved = await inTransaction(sequelize, ctx, (t) => store.totp.savePending(userId, secret, t));
      if (!saved) throw alreadyEnabled(LABEL.totp);
      const uri = otpauthUri(secret, user.email);
      return { secret, otpauthUri: uri, qrCodeDataUrl: await deps.qrCode(uri), expiresAt: new Date(Date.now() + TOTP_ENROLMENT_TTL_SECONDS * 1000) };
    },

    /** Turns the authenticator on once the user proves the app has the secret. */
    async confirmTotp(ctx: RequestContext, userId: string, code: string): Promise<TwoFactorState> {
      const credential = await store.totp.find(userId);
      if (credential?.confirmedAt) throw alreadyEnabled(LABEL.totp);
      if (!credential || credential.createdAt.getTime() + TOTP_ENROLMENT_TTL_SECONDS * 1000 < Date.now()) throw totpEnrolmentNotFound();
      // After the checks that need no code: only a comparison is an attempt.
      await checks.guardCodeAttempt(ctx, userId);
      const step = totpStep(credential.secret, code);
      if (step === null) return refuseCode(userId);
      return turnOn(ctx, userId, 'totp', async (t) => {
        // The confirming code is spent too: it cannot open a session afterwards.
        if (!(await store.totp.useStep(userId, step, t))) throw invalidOtpCode();
        await store.totp.confirm(userId, t);
      });
    },

    disableTotp: (ctx: RequestContext, userId: string, password: string, code: string) => turnOff(ctx, userId, 'totp', password, code),

    /** Sends a code to the account's phone; confirming it turns SMS codes on. */
    async startSms(ctx: RequestContext, userId: string, password: string) {
      const user = await currentUser(userId);
      await checks.assertPassword(user, password);
      if (user.twoFactor.sms) throw alreadyEnabled(LABEL.sms);
      if (!user.phone) throw phoneRequired();
      return checks.sendSmsCode(ctx, user, 'enrol', null);
    },

    async confirmSms(ctx: RequestContext, userId: string, code: string): Promise<TwoFactorState> {
      const user = await currentUser(userId);
      if (user.twoFactor.sms) throw alreadyEnabled(LABEL.sms);
      if (!user.phone) throw phoneRequired();
      await checks.guardCodeAttempt(ctx, userId);
      if (!(await checks.compareCode(userId, () => checks.smsCodeMatches(userId, 'enrol', null, code)))) return refuseCode(userId);
      return turnOn(ctx, userId, 'sms', async () => undefined);
    },

    /** A code for re-authentication, for accounts whose second factor is SMS. */
    async sendReauthSms(ctx: RequestContext, userId: string) {
      const user = await currentUser(userId);
      if (!user.twoFactor.sms || !user.phone) throw notEnabled(LABEL.sms);
      return checks.sendSmsCode(ctx, user, 'reauth', null);
    },

    disableSms: (ctx: RequestContext, userId: string, password: string, code: string) => turnOff(ctx, userId, 'sms', password, code),

    /** New recovery codes, replacing every earlier one. */
    async regenerateRecoveryCodes(ctx: RequestContext, userId: string, password: string, code: string): Promise<TwoFactorState> {
      const user = await currentUser(userId);
      if (!user.twoFactor.totp && !user.twoFactor.sms) throw notEnabled('second factor');
      await reauthenticate(ctx, user, password, code);
      const codes = await inTransaction(sequelize, ctx, async (t) => {
        const issued = await checks.issueRecoveryCodes(userId, t);
        await recordEvents(t, { type: 'user', id: userId }, [{ type: 'user.recovery_codes_regenerated', payload: { user_id: userId } }], metadataFrom(ctx));
        return issued;
      });
      return checks.state(userId, codes);
    },
  };
}

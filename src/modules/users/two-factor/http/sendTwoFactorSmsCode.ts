import { requireActor } from '../../../../platform/http/auth';
import type { Handler } from '../../../../platform/http/operations';
import type { TwoFactorService } from '../index';
import { toSmsCodeSent } from './mapper';

export const sendTwoFactorSmsCode =
  (twoFactor: TwoFactorService): Handler<'sendTwoFactorSmsCode'> =>
  async ({ ctx }) => {
    const actor = requireActor(ctx.actor, false);
    return { status: 202, body: toSmsCodeSent(await twoFactor.enrolment.sendReauthSms(ctx, actor.userId)) };
  };

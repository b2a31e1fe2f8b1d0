import { requireActor } from '../../../../platform/http/auth';
import type { Handler } from '../../../../platform/http/operations';
import type { TwoFactorService } from '../index';
import { toSmsCodeSent } from './mapper';

export const startSmsEnrolment =
  (twoFactor: TwoFactorService): Handler<'startSmsEnrolment'> =>
  async ({ ctx, body }) => {
    const actor = requireActor(ctx.actor, false);
    return { status: 202, body: toSmsCodeSent(await twoFactor.enrolment.startSms(ctx, actor.userId, body.password)) };
  };

import { requireActor } from '../../../../platform/http/auth';
import type { Handler } from '../../../../platform/http/operations';
import type { TwoFactorService } from '../index';
import { toTotpEnrolment } from './mapper';

export const startTotpEnrolment =
  (twoFactor: TwoFactorService): Handler<'startTotpEnrolment'> =>
  async ({ ctx, body }) => {
    const actor = requireActor(ctx.actor, false);
    return { status: 200, body: toTotpEnrolment(await twoFactor.enrolment.startTotp(ctx, actor.userId, body.password)) };
  };

import { requireActor } from '../../../../platform/http/auth';
import type { Handler } from '../../../../platform/http/operations';
import type { TwoFactorService } from '../index';
import { toTwoFactorStatus } from './mapper';

export const getMyTwoFactor =
  (twoFactor: TwoFactorService): Handler<'getMyTwoFactor'> =>
  async ({ ctx }) => {
    const actor = requireActor(ctx.actor, false);
    return { status: 200, body: toTwoFactorStatus(await twoFactor.enrolment.state(actor.userId)) };
  };

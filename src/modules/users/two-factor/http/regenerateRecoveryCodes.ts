import { requireActor } from '../../../../platform/http/auth';
import type { Handler } from '../../../../platform/http/operations';
import type { TwoFactorService } from '../index';
import { toTwoFactorStatus } from './mapper';

export const regenerateRecoveryCodes =
  (twoFactor: TwoFactorService): Handler<'regenerateRecoveryCodes'> =>
  async ({ ctx, body }) => {
    const actor = requireActor(ctx.actor, false);
    return { status: 200, body: toTwoFactorStatus(await twoFactor.enrolment.regenerateRecoveryCodes(ctx, actor.userId, body.password, body.code)) };
  };

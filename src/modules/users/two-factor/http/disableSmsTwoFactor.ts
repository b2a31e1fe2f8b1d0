import { requireActor } from '../../../../platform/http/auth';
import type { Handler } from '../../../../platform/http/operations';
import type { TwoFactorService } from '../index';
import { toTwoFactorStatus } from './mapper';

export const disableSmsTwoFactor =
  (twoFactor: TwoFactorService): Handler<'disableSmsTwoFactor'> =>
  async ({ ctx, body }) => {
    const actor = requireActor(ctx.actor, false);
    return { status: 200, body: toTwoFactorStatus(await twoFactor.enrolment.disableSms(ctx, actor.userId, body.password, body.code)) };
  };

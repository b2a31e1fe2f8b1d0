import { requireActor } from '../../../../platform/http/auth';
import type { Handler } from '../../../../platform/http/operations';
import type { IdentityVerificationUseCases } from '../domain/identity-verification';
import { toIdentityVerification } from './identity-verification-mapper';

export const startIdentityVerification =
  (verification: IdentityVerificationUseCases): Handler<'startIdentityVerification'> =>
  async ({ ctx }) => {
    const started = await verification.start(ctx, requireActor(ctx.actor, false).userId);
    return { status: 201, body: toIdentityVerification(started) };
  };

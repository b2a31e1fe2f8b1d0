import { requireActor } from '../../../../platform/http/auth';
import type { Handler } from '../../../../platform/http/operations';
import type { IdentityVerificationUseCases } from '../domain/identity-verification';
import { toIdentityVerification } from './identity-verification-mapper';

export const completeIdentityVerification =
  (verification: IdentityVerificationUseCases): Handler<'completeIdentityVerification'> =>
  async ({ ctx, path, body }) => {
    const done = await verification.complete(ctx, requireActor(ctx.actor, false).userId, path.verification_id, body);
    return { status: 200, body: toIdentityVerification(done) };
  };

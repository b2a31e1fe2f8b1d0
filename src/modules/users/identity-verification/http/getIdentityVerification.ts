import { requireActor } from '../../../../platform/http/auth';
import type { Handler } from '../../../../platform/http/operations';
import type { IdentityVerificationUseCases } from '../domain/identity-verification';
import { toIdentityVerification } from './identity-verification-mapper';

export const getIdentityVerification =
  (verification: IdentityVerificationUseCases): Handler<'getIdentityVerification'> =>
  async ({ ctx, path }) => ({ status: 200, body: toIdentityVerification(await verification.get(requireActor(ctx.actor, false).userId, path.verification_id)) });

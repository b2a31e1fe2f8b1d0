import type { Handler } from '../../../../platform/http/operations';
import { toSessionTokens } from '../../http/user-mapper';
import type { TwoFactorService } from '../index';

export const completeLoginChallenge =
  (twoFactor: TwoFactorService): Handler<'completeLoginChallenge'> =>
  async ({ ctx, body }) => ({ status: 200, body: toSessionTokens(await twoFactor.signIn.complete(ctx, body.challenge_token, body.method, body.code)) });

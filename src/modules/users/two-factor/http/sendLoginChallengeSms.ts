import type { Handler } from '../../../../platform/http/operations';
import type { TwoFactorService } from '../index';
import { toSmsCodeSent } from './mapper';

export const sendLoginChallengeSms =
  (twoFactor: TwoFactorService): Handler<'sendLoginChallengeSms'> =>
  async ({ ctx, body }) => ({ status: 202, body: toSmsCodeSent(await twoFactor.signIn.sendChallengeSms(ctx, body.challenge_token)) });

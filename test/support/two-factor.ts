import { randomInt } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { startSmsSimulator, type SmsSimulator } from '../../src/integrations/sms';
import { unwrap } from '../../sdk';
import { uniqueIp } from './http';
import { newPerson, startIdentityStack, type IdentityStack, type SignedUpUser } from './identity';
import { providerEnv } from './providers';

/** The identity stack with the worker sending SMS through a SENS simulator of its own. */
export interface TwoFactorStack extends IdentityStack {
  sms: SmsSimulator;
  /** Registers with a phone number, confirms the e-mail and signs in. */
  signUpWithPhone(tag?: string): Promise<SignedUpUser & { phone: string }>;
  /** The 6-digit code of the next SMS to this number (`010-1234-5678`) received after `since` messages. */
  smsCode(phone: string, since?: number): Promise<string>;
  /** How many messages this number has received so far. */
  smsCount(phone: string): number;
}

/** `010-` and 8 random digits: a number of its own per test, so each test reads only its own messages. */
export const uniquePhone = () => `010-${String(randomInt(10_000)).padStart(4, '0')}-${String(randomInt(10_000)).padStart(4, '0')}`;

/** The code an authenticator app shows for the secret, `steps` periods of 30 s from now. */
export const totpCode = (secret: string, steps = 0) =>
  TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30, timestamp: Date.now() + steps * 30_000 });

export async function startTwoFactorStack(): Promise<TwoFactorStack> {
  const sms = await startSmsSimulator({ port: 0 });
  const stack = await startIdentityStack(providerEnv({ sms }));
  const national = (phone: string) => phone.replace(/-/g, '');
  const smsCount = (phone: string) => sms.messages().filter((m) => m.to === national(phone)).length;

  return {
    ...stack,
    sms,
    smsCount,
    async smsCode(phone, since = 0) {
      const to = national(phone);
      // The worker retries a failed send, so allow for its backoff.
      const message = await sms.waitFor((m) => m.to === to && sms.messages().filter((x) => x.to === to).indexOf(m) === since, 20_000);
      const code = /\[(\d{6})\]/.exec(message.content)?.[1];
      if (!code) throw new Error(`no code in SMS: ${message.content}`);
      return code;
    },
    async signUpWithPhone(tag = 'sms') {
      const person = { ...newPerson(tag), phone: uniquePhone() };
      unwrap(await stack.api.client().POST('/auth/register', { body: person }));
      const { token } = await stack.mailTo(person.email, 'identity.verify-email');
      unwrap(await stack.api.client().POST('/auth/verify-email', { body: { token: token! } }));
      const t = await stack.login(person.email, person.password, uniqueIp());
      return { ...person, id: t.user_id, token: t.access_token, refreshToken: t.refresh_token, sessionId: t.session_id };
    },
    async stop() {
      await stack.stop();
      await sms.stop();
    },
  };
}

import { randomBytes, randomInt } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { expect } from 'vitest';
import { api, E2E } from './support';

// What the identity scenarios need beyond the API: a person's mailbox and phone, and the provider
// windows they would click through. All of it is the sandbox (test/e2e/sandbox-server.ts) that
// scripts/start-test-app.ts runs next to the simulators; against a deployment without one
// (E2E_SANDBOX_URL unset) the scenarios that need it are skipped.

export const PASSWORD = 'Sangmu-2024!';
export const hasSandbox = Boolean(E2E.sandboxUrl);

async function sandbox<T>(path: string, payload?: unknown): Promise<T> {
  if (!E2E.sandboxUrl) throw new Error('E2E_SANDBOX_URL is not set (docs/qa.md)');
  const res = await fetch(`${E2E.sandboxUrl}${path}`, {
    method: payload === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
  });
  const body = (await res.json()) as T & { error?: string };
  if (res.status !== 200) throw new Error(`sandbox ${path}: ${res.status} ${body.error}`);
  return body;
}

/** The `index`-th mail to the address in this category (0 = the first), waiting for it to arrive. */
export const mail = (to: string, category: 'identity.verify-email' | 'identity.reset-password' | 'identity.account-exists', index = 0) =>
  sandbox<{ subject: string; text: string; token: string | null }>(`/mail?${new URLSearchParams({ to, category, index: String(index) })}`);

/** The 6-digit code of the `index`-th SMS to the number. */
export const smsCode = async (to: string, index: number) => (await sandbox<{ code: string }>(`/sms?${new URLSearchParams({ to, index: String(index) })}`)).code;

/** The browser leg of a social sign-in: the provider's pages, as `user` (a new person by default), up to the callback page. */
export const walk = (provider: 'google' | 'kakao', authorizationUrl: string, user?: Record<string, unknown>) =>
  sandbox<{ params: Record<string, string>; user: { email: string } }>(`/social/${provider}/walk`, { authorization_url: authorizationUrl, ...(user ? { user } : {}) });

/** The NICE window finished by a new adult; what the return page would post to completeIdentityVerification. */
export const finishNiceWindow = async (authUrl: string) =>
  (await sandbox<{ returned: { token_version_id: string; enc_data: string; integrity_value: string } }>('/nice/complete', { auth_url: authUrl })).returned;

/** What an authenticator app shows for the secret, `steps` periods of 30 s from now. */
export const totpCode = (secret: string, steps = 0) =>
  TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30, timestamp: Date.now() + steps * 30_000 });

export const uniquePhone = () => `010-${String(randomInt(10_000)).padStart(4, '0')}-${String(randomInt(10_000)).padStart(4, '0')}`;

/** Someone new: unique address and nickname (the tag stays clear of reserved nicknames such as "admin"). */
export function newPerson(tag: string, phone?: string) {
  const suffix = randomBytes(4).toString('hex');
  return { email: `e2e-${tag}-${suffix}@example.com`, password: PASSWORD, nickname: `e2e${tag.slice(0, 8)}${suffix}`, ...(phone ? { phone } : {}) };
}

export interface SignedUp {
  id: string;
  email: string;
  password: string;
  nickname: string;
  phone?: string;
  token: string;
  refreshToken: string;
  sessionId: string;
}

/** Signs in with the password; the account must have no second factor. */
export async function logIn(email: string, password = PASSWORD, device_name = 'E2E runner') {
  const res = await api().POST('/auth/login', { body: { email, password, device_name } });
  expect(res.response.status).toBe(200);
  if (res.data?.object !== 'session_tokens') throw new Error(`expected session tokens, got ${res.data?.object}`);
  return res.data;
}

/** Registers, follows the e-mailed link and signs in, all through the API. */
export async function signUp(tag: string, opts: { phone?: boolean } = {}): Promise<SignedUp> {
  const person = newPerson(tag, opts.phone ? uniquePhone() : undefined);
  const registered = await api().POST('/auth/register', { body: person });
  expect(registered.response.status).toBe(202);
  const { token } = await mail(person.email, 'identity.verify-email');
  const verified = await api().POST('/auth/verify-email', { body: { token: token! } });
  expect(verified.response.status).toBe(200);
  const session = await logIn(person.email);
  return { ...person, id: session.user_id, token: session.access_token, refreshToken: session.refresh_token, sessionId: session.session_id };
}

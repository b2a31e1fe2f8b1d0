import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '../../../sdk';
import { expectProblem, raw, uniqueIp } from '../../support/http';
import type { SignedUpUser } from '../../support/identity';
import { startTwoFactorStack, totpCode, type TwoFactorStack } from '../../support/two-factor';

let stack: TwoFactorStack;

beforeAll(async () => {
  stack = await startTwoFactorStack();
});
afterAll(() => stack.stop());

const call = (method: string, path: string, body?: unknown, { token, ip = uniqueIp() }: { token?: string; ip?: string } = {}) =>
  raw(`${stack.api.url}/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const post = (path: string, body: unknown, opts?: { token?: string; ip?: string }) => call('POST', path, body, opts);

/** Signs in with the password; a user with a second factor gets the challenge. */
async function challengeFor(user: { email: string; password: string }, ip = uniqueIp()) {
  const res = await post('/auth/login', { email: user.email, password: user.password, device_name: 'Test phone' }, { ip });
  expect(res.status).toBe(200);
  expect(res.json.object).toBe('login_challenge');
  return res.json as { challenge_token: string; methods: string[]; expires_at: string };
}
const complete = (challenge_token: string, method: string, code: string, ip = uniqueIp()) => post('/auth/login/challenge', { challenge_token, method, code }, { ip });

async function enableTotp(user: SignedUpUser) {
  const client = stack.api.client({ token: user.token });
  const enrolment = unwrap(await client.POST('/users/me/two-factor/totp', { body: { password: user.password } }));
  const enabled = unwrap(await client.POST('/users/me/two-factor/totp/confirm', { body: { code: totpCode(enrolment.secret) } }));
  return { secret: enrolment.secret, recoveryCodes: enabled.recovery_codes ?? [] };
}

const eventsOf = async (userId: string, type: string) =>
  (await stack.db.query(`SELECT payload FROM events WHERE aggregate_type = 'user' AND aggregate_id = $1 AND type = $2 ORDER BY aggregate_version`, [userId, type])).rows.map(
    (r) => r.payload as Record<string, unknown>,
  );

describe('authenticator app (TOTP)', () => {
  it('when a user enrols and confirms with a code from the secret, then TOTP is on, 10 recovery codes come back once, and the profile shows it', async () => {
    const user = await stack.signUp('totp');
    const client = stack.api.client({ token: user.token });
    const enrolment = unwrap(await client.POST('/users/me/two-factor/totp', { body: { password: user.password } }));
    expect(enrolment.secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(enrolment.otpauth_uri);
    expect(uri.protocol).toBe('otpauth:');
    expect(decodeURIComponent(uri.pathname)).toContain(`Junggo:${user.email}`);
    expect(uri.searchParams.get('secret')).toBe(enrolment.secret);
    expect(uri.searchParams.get('issuer')).toBe('Junggo');
    expect(Buffer.from(enrolment.qr_code_data_url.replace(/^data:image\/png;base64,/, ''), 'base64').subarray(1, 4).toString()).toBe('PNG');

    const stored = await stack.db.query(`SELECT secret_enc, confirmed_at FROM totp_credentials WHERE user_id = $1`, [user.id]);
    expect(stored.rows[0].confirmed_at).toBeNull();
    expect(stored.rows[0].secret_enc).not.toContain(enrolment.secret);
    // A pending enrolment guards nothing yet.
    expect((await post('/auth/login', { email: user.email, password: user.password })).json.object).toBe('session_tokens');

    const enabled = unwrap(await client.POST('/users/me/two-factor/totp/confirm', { body: { code: totpCode(enrolment.secret) } }));
    expect(enabled).toMatchObject({ object: 'two_factor', totp: true, sms: false, recovery_codes_remaining: 10 });
    expect(new Set(enabled.recovery_codes).size).toBe(10);
    expect(enabled.recovery_codes![0]).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);

    const status = unwrap(await client.GET('/users/me/two-factor'));
    expect(status).toEqual({ object: 'two_factor', totp: true, sms: false, recovery_codes_remaining: 10 });
    expect(unwrap(await client.GET('/users/profile')).two_factor).toEqual({ totp: true, sms: false });
    expect(await eventsOf(user.id, 'user.two_factor_enabled')).toEqual([{ user_id: user.id, method: 'totp' }]);
    const hashes = await stack.db.query(`SELECT code_hash FROM recovery_codes WHERE user_id = $1`, [user.id]);
    expect(hashes.rows).toHaveLength(10);
    expect(JSON.stringify(hashes.rows)).not.toContain(enabled.recovery_codes![0]!.replace(/-/g, ''));
  });

  it('when enrolment is started with a wrong password, then 403 invalid_credentials and no secret is stored', async () => {
    const user = await stack.signUp('totpw');
    expectProblem(await post('/users/me/two-factor/totp', { password: 'Wrong-pass1' }, { token: user.token }), 403, 'invalid_credentials');
    expect((await stack.db.query(`SELECT 1 FROM totp_credentials WHERE user_id = $1`, [user.id])).rowCount).toBe(0);
  });

  it('when the confirmation code is wrong, or the body carries a field it should not, then TOTP stays off', async () => {
    const user = await stack.signUp('totpc');
    const { json } = await post('/users/me/two-factor/totp', { password: user.password }, { token: user.token });
    const wrong = String((Number(totpCode(json.secret as string)) + 500_000) % 1_000_000).padStart(6, '0');
    const res = await post('/users/me/two-factor/totp/confirm', { code: wrong }, { token: user.token });
    expectProblem(res, 422, 'invalid_otp_code');
    expect(res.json.errors).toEqual([expect.objectContaining({ pointer: '/code', code: 'invalid_otp_code' })]);
    expectProblem(await post('/users/me/two-factor/totp/confirm', { code: totpCode(json.secret as string), totp: true, user_id: 'usr_7M2K9QD4TBV3N1PX8ZRA' }, { token: user.token }), 400, 'validation_failed');
    expect((await stack.db.query(`SELECT totp_enabled FROM users WHERE id = $1`, [user.id])).rows[0].totp_enabled).toBe(false);
  });

  it('when TOTP is already on, then starting another enrolment is 409 two_factor_already_enabled and the secret is kept', async () => {
    const user = await stack.signUp('totpd');
    const { secret } = await enableTotp(user);
    expectProblem(await post('/users/me/two-factor/totp', { password: user.password }, { token: user.token }), 409, 'two_factor_already_enabled');
    const { challenge_token } = await challengeFor(user);
    expect((await complete(challenge_token, 'totp', totpCode(secret, 1))).status).toBe(200);
  });

  it('when a user with TOTP signs in, then a challenge comes instead of tokens; a wrong code is refused and the right one opens a session as password+totp', async () => {
    const user = await stack.signUp('totpl');
    const { secret } = await enableTotp(user);
    const challenge = await challengeFor(user);
    expect(challenge.challenge_token).toMatch(/^lc_/);
    expect(challenge.methods).toEqual(['totp', 'recovery_code']);
    expect(new Date(challenge.expires_at).getTime() - Date.now()).toBeGreaterThan(4 * 60_000);
    expect(new Date(challenge.expires_at).getTime() - Date.now()).toBeLessThanOrEqual(5 * 60_000 + 1000);

    expectProblem(await complete(challenge.challenge_token, 'totp', '000000'), 422, 'invalid_otp_code');
    const ok = await complete(challenge.challenge_token, 'totp', totpCode(secret, 1));
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ object: 'session_tokens', user_id: user.id });
    expect((await call('GET', '/users/profile', undefined, { token: ok.json.access_token as string })).status).toBe(200);
    const sessions = await stack.db.query(`SELECT device_name FROM sessions WHERE id = $1`, [ok.json.session_id]);
    expect(sessions.rows[0].device_name).toBe('Test phone');
    const logins = await eventsOf(user.id, 'user.logged_in');
    expect(logins.at(-1)).toMatchObject({ session_id: ok.json.session_id, method: 'password+totp' });
    expect((await eventsOf(user.id, 'user.login_challenge_failed'))[0]).toMatchObject({ method: 'totp', attempts: 1 });

    // The challenge is single use, and so is the code.
    expectProblem(await complete(challenge.challenge_token, 'totp', totpCode(secret, 1)), 401, 'invalid_login_challenge');
    const again = await challengeFor(user);
    expectProblem(await complete(again.challenge_token, 'totp', totpCode(secret, 1)), 422, 'invalid_otp_code');
  });

  it("when a challenge is answered with another user's valid code, then it is refused (codes are bound to the challenge's account)", async () => {
    const [alice, bob] = await Promise.all([stack.signUp('alice'), stack.signUp('bob')]);
    const [, bobs] = await Promise.all([enableTotp(alice), enableTotp(bob)]);
    const { challenge_token } = await challengeFor(alice);
    expectProblem(await complete(challenge_token, 'totp', totpCode(bobs.secret, 1)), 422, 'invalid_otp_code');
    expectProblem(await complete(challenge_token, 'recovery_code', bobs.recoveryCodes[0]!), 422, 'invalid_otp_code');
    // Bob's recovery code was not spent by the attempt on Alice's account.
    const bobChallenge = await challengeFor(bob);
    expect((await complete(bobChallenge.challenge_token, 'recovery_code', bobs.recoveryCodes[0]!)).status).toBe(200);
  });

  it('when a recovery code is used, then it signs in once and is spent; lower case without dashes works too', async () => {
    const user = await stack.signUp('recov');
    const { recoveryCodes } = await enableTotp(user);
    const first = await challengeFor(user);
    const ok = await complete(first.challenge_token, 'recovery_code', recoveryCodes[0]!.toLowerCase().replace(/-/g, ''));
    expect(ok.status).toBe(200);
    expect((await eventsOf(user.id, 'user.logged_in')).at(-1)).toMatchObject({ method: 'password+recovery_code' });
    const second = await challengeFor(user);
    expectProblem(await complete(second.challenge_token, 'recovery_code', recoveryCodes[0]!), 422, 'invalid_otp_code');
    expect(unwrap(await stack.api.client({ token: user.token }).GET('/users/me/two-factor')).recovery_codes_remaining).toBe(9);
  });

  it('when recovery codes are regenerated (password and a code), then the old ones stop working and the new ones work', async () => {
    const user = await stack.signUp('regen');
    const { recoveryCodes } = await enableTotp(user);
    expectProblem(await post('/users/me/two-factor/recovery-codes', { password: user.password, code: '123456' }, { token: user.token }), 422, 'invalid_otp_code');
    const res = await post('/users/me/two-factor/recovery-codes', { password: user.password, code: recoveryCodes[0] }, { token: user.token });
    expect(res.status).toBe(200);
    const fresh = res.json.recovery_codes as string[];
    expect(fresh).toHaveLength(10);
    expect(fresh).not.toContain(recoveryCodes[1]);
    const c1 = await challengeFor(user);
    expectProblem(await complete(c1.challenge_token, 'recovery_code', recoveryCodes[1]!), 422, 'invalid_otp_code');
    expect((await complete(c1.challenge_token, 'recovery_code', fresh[0]!)).status).toBe(200);
  });

  it('when TOTP is disabled, then it takes the password and a valid code; afterwards sign-in gives tokens directly and the recovery codes are gone', async () => {
    const user = await stack.signUp('totpx');
    const { secret } = await enableTotp(user);
    expectProblem(await post('/users/me/two-factor/totp/disable', { password: 'Wrong-pass1', code: totpCode(secret, 1) }, { token: user.token }), 403, 'invalid_credentials');
    expectProblem(await post('/users/me/two-factor/totp/disable', { password: user.password, code: '000000' }, { token: user.token }), 422, 'invalid_otp_code');
    expectProblem(await post('/users/me/two-factor/totp/disable', { password: user.password }, { token: user.token }), 400, 'validation_failed');
    expectProblem(await post('/users/me/two-factor/totp/disable', { password: user.password, code: totpCode(secret, 1) }), 401, 'unauthenticated');

    const res = await post('/users/me/two-factor/totp/disable', { password: user.password, code: totpCode(secret, 1) }, { token: user.token });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ object: 'two_factor', totp: false, sms: false, recovery_codes_remaining: 0 });
    expect((await post('/auth/login', { email: user.email, password: user.password })).json.object).toBe('session_tokens');
    expect((await stack.db.query(`SELECT count(*)::int AS n FROM recovery_codes WHERE user_id = $1`, [user.id])).rows[0].n).toBe(0);
    expect((await stack.db.query(`SELECT count(*)::int AS n FROM totp_credentials WHERE user_id = $1`, [user.id])).rows[0].n).toBe(0);
    expect(await eventsOf(user.id, 'user.two_factor_disabled')).toEqual([{ user_id: user.id, method: 'totp' }]);
    expectProblem(await post('/users/me/two-factor/totp/disable', { password: user.password, code: '123456' }, { token: user.token }), 409, 'two_factor_not_enabled');
  });

  it('when a challenge gets 5 wrong codes, then the 5th ends it (401 invalid_login_challenge) and even the right code is refused after', async () => {
    const user = await stack.signUp('burn');
    const { secret } = await enableTotp(user);
    const { challenge_token } = await challengeFor(user);
    for (let i = 0; i < 4; i += 1) expectProblem(await complete(challenge_token, 'totp', `00000${i}`), 422, 'invalid_otp_code');
    expectProblem(await complete(challenge_token, 'totp', '000009'), 401, 'invalid_login_challenge');
    expectProblem(await complete(challenge_token, 'totp', totpCode(secret, 1)), 401, 'invalid_login_challenge');
  });

  it('when an account collects 10 wrong codes from ever-changing addresses, then it is locked: 423 account_locked with Retry-After, for the right code and the password too', async () => {
    const user = await stack.signUp('otplk');
    const { secret } = await enableTotp(user);
    const c1 = await challengeFor(user);
    const c2 = await challengeFor(user);
    const c3 = await challengeFor(user);
    for (let i = 0; i < 5; i += 1) await complete(c1.challenge_token, 'totp', `10000${i}`);
    for (let i = 0; i < 4; i += 1) expectProblem(await complete(c2.challenge_token, 'totp', `20000${i}`), 422, 'invalid_otp_code');
    const tenth = await complete(c2.challenge_token, 'totp', '200009');
    expectProblem(tenth, 423, 'account_locked');
    expect(Number(tenth.headers.get('retry-after'))).toBeGreaterThan(3000);
    expectProblem(await complete(c3.challenge_token, 'totp', totpCode(secret, 1)), 423, 'account_locked');
    expectProblem(await post('/auth/login', { email: user.email, password: user.password }), 423, 'account_locked');
  });

  it('when codes are sent with nothing to compare them with (no enrolment started, no SMS code sent), then none counts towards the lock', async () => {
    const user = await stack.signUpWithPhone('otpnone');
    for (let i = 0; i < 11; i += 1) {
      expectProblem(await post('/users/me/two-factor/totp/confirm', { code: '123456' }, { token: user.token }), 422, 'totp_enrolment_not_found');
      expectProblem(await post('/users/me/two-factor/sms/confirm', { code: '123456' }, { token: user.token }), 422, 'otp_code_expired');
    }
    const { secret } = await enableTotp(user);
    expect(secret).toMatch(/^[A-Z2-7]+$/);
    const challenge = await challengeFor(user);
    expect((await complete(challenge.challenge_token, 'totp', totpCode(secret, 1))).status).toBe(200);
  });

  it('when one address tries more than 30 codes in 15 minutes, then 429 too_many_otp_attempts with Retry-After, whatever the challenge', async () => {
    const ip = uniqueIp();
    for (let i = 0; i < 30; i += 1) expectProblem(await complete(`lc_unknown${i}AAAAAAAAAAAAAAAAAAAA`, 'totp', '123456', ip), 401, 'invalid_login_challenge');
    const res = await complete('lc_unknownAAAAAAAAAAAAAAAAAAAAAA', 'totp', '123456', ip);
    expectProblem(res, 429, 'too_many_otp_attempts');
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await complete('lc_unknownAAAAAAAAAAAAAAAAAAAAAA', 'totp', '123456')).status).toBe(401);
  });

  it('when the method is not one the challenge offers, then 422 two_factor_method_unavailable', async () => {
    const user = await stack.signUp('meth');
    await enableTotp(user);
    const { challenge_token } = await challengeFor(user);
    expectProblem(await complete(challenge_token, 'sms', '123456'), 422, 'two_factor_method_unavailable');
    expectProblem(await post('/auth/login/challenge/sms', { challenge_token }), 422, 'two_factor_method_unavailable');
  });

  it('when an expired challenge is completed, then 401 invalid_login_challenge', async () => {
    const user = await stack.signUp('chexp');
    const { secret } = await enableTotp(user);
    const { challenge_token } = await challengeFor(user);
    await stack.db.query(`UPDATE login_challenges SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [user.id]);
    expectProblem(await complete(challenge_token, 'totp', totpCode(secret, 1)), 401, 'invalid_login_challenge');
  });

  it('when a user has no second factor, then sign-in still gives tokens directly', async () => {
    const user = await stack.signUp('plain');
    const res = await post('/auth/login', { email: user.email, password: user.password });
    expect(res.json).toMatchObject({ object: 'session_tokens', user_id: user.id });
    expect(unwrap(await stack.api.client({ token: user.token }).GET('/users/me/two-factor'))).toEqual({ object: 'two_factor', totp: false, sms: false, recovery_codes_remaining: 0 });
  });
});

describe('SMS codes', () => {
  it('when SMS codes are turned on, then the code sent through the provider confirms it, and sign-in then offers sms and completes as password+sms', async () => {
    const user = await stack.signUpWithPhone('smson');
    const client = stack.api.client({ token: user.token });
    const sent = unwrap(await client.POST('/users/me/two-factor/sms', { body: { password: user.password } }));
    expect(sent).toMatchObject({ object: 'sms_code', phone: `010-****-${user.phone.slice(-4)}` });
    expect(new Date(sent.expires_at).getTime() - Date.now()).toBeLessThanOrEqual(180_000 + 1000);
    const code = await stack.smsCode(user.phone);
    const enabled = unwrap(await client.POST('/users/me/two-factor/sms/confirm', { body: { code } }));
    expect(enabled).toMatchObject({ totp: false, sms: true, recovery_codes_remaining: 10 });
    expect(enabled.recovery_codes).toHaveLength(10);
    expect((await stack.db.query(`SELECT sms_2fa_enabled FROM users WHERE id = $1`, [user.id])).rows[0].sms_2fa_enabled).toBe(true);

    const challenge = await challengeFor(user);
    expect(challenge.methods).toEqual(['sms', 'recovery_code']);
    // No code asked for yet: nothing to compare with.
    expectProblem(await complete(challenge.challenge_token, 'sms', '123456'), 422, 'otp_code_expired');
    const ask = await post('/auth/login/challenge/sms', { challenge_token: challenge.challenge_token });
    expect(ask.status).toBe(202);
    const loginCode = await stack.smsCode(user.phone, 1);
    expect(loginCode).not.toBe(code);
    const ok = await complete(challenge.challenge_token, 'sms', loginCode);
    expect(ok.status).toBe(200);
    expect((await eventsOf(user.id, 'user.logged_in')).at(-1)).toMatchObject({ method: 'password+sms', session_id: ok.json.session_id });
    const stored = await stack.db.query(`SELECT code_hash FROM sms_codes WHERE user_id = $1`, [user.id]);
    expect(JSON.stringify(stored.rows)).not.toContain(loginCode);
  });

  it('when the account has no phone number, then 422 phone_required and nothing is sent', async () => {
    const user = await stack.signUp('nophone');
    expectProblem(await post('/users/me/two-factor/sms', { password: user.password }, { token: user.token }), 422, 'phone_required');
    expect((await stack.db.query(`SELECT count(*)::int AS n FROM sms_codes WHERE user_id = $1`, [user.id])).rows[0].n).toBe(0);
  });

  it('when a code is tried 5 times wrongly, then the 6th try is refused even with the right code (422 otp_code_expired)', async () => {
    const user = await stack.signUpWithPhone('sms6');
    expect((await post('/users/me/two-factor/sms', { password: user.password }, { token: user.token })).status).toBe(202);
    const code = await stack.smsCode(user.phone);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i += 1) expectProblem(await post('/users/me/two-factor/sms/confirm', { code: wrong }, { token: user.token }), 422, 'invalid_otp_code');
    expectProblem(await post('/users/me/two-factor/sms/confirm', { code }, { token: user.token }), 422, 'otp_code_expired');
    expect((await stack.db.query(`SELECT sms_2fa_enabled FROM users WHERE id = $1`, [user.id])).rows[0].sms_2fa_enabled).toBe(false);
  });

  it('when the code has expired, then it is refused (422 otp_code_expired)', async () => {
    const user = await stack.signUpWithPhone('smsexp');
    expect((await post('/users/me/two-factor/sms', { password: user.password }, { token: user.token })).status).toBe(202);
    const code = await stack.smsCode(user.phone);
    await stack.db.query(`UPDATE sms_codes SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [user.id]);
    expectProblem(await post('/users/me/two-factor/sms/confirm', { code }, { token: user.token }), 422, 'otp_code_expired');
  });

  it('when a new code is asked for, then the previous one stops working', async () => {
    const user = await stack.signUpWithPhone('smsnew');
    await post('/users/me/two-factor/sms', { password: user.password }, { token: user.token });
    const first = await stack.smsCode(user.phone);
    await post('/users/me/two-factor/sms', { password: user.password }, { token: user.token });
    const second = await stack.smsCode(user.phone, 1);
    if (first !== second) expectProblem(await post('/users/me/two-factor/sms/confirm', { code: first }, { token: user.token }), 422, 'invalid_otp_code');
    expect((await post('/users/me/two-factor/sms/confirm', { code: second }, { token: user.token })).status).toBe(200);
  });

  it('when an account asks for a 6th code within the hour, from any address, then 429 too_many_sms_requests', async () => {
    const user = await stack.signUpWithPhone('smslim');
    for (let i = 0; i < 5; i += 1) expect((await post('/users/me/two-factor/sms', { password: user.password }, { token: user.token })).status).toBe(202);
    const sixth = await post('/users/me/two-factor/sms', { password: user.password }, { token: user.token });
    expectProblem(sixth, 429, 'too_many_sms_requests');
    expect(Number(sixth.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('when SMS codes are turned off, then it takes the password and a code sent for re-authentication', async () => {
    const user = await stack.signUpWithPhone('smsoff');
    await post('/users/me/two-factor/sms', { password: user.password }, { token: user.token });
    expect((await post('/users/me/two-factor/sms/confirm', { code: await stack.smsCode(user.phone) }, { token: user.token })).status).toBe(200);
    expect((await post('/users/me/two-factor/sms/code', undefined, { token: user.token })).status).toBe(202);
    const code = await stack.smsCode(user.phone, 1);
    expectProblem(await post('/users/me/two-factor/sms/disable', { password: 'Wrong-pass1', code }, { token: user.token }), 403, 'invalid_credentials');
    const res = await post('/users/me/two-factor/sms/disable', { password: user.password, code }, { token: user.token });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ sms: false, recovery_codes_remaining: 0 });
    expect((await post('/auth/login', { email: user.email, password: user.password })).json.object).toBe('session_tokens');
    expect(await eventsOf(user.id, 'user.two_factor_disabled')).toEqual([{ user_id: user.id, method: 'sms' }]);
  });

  it('when both factors are on, then the recovery codes are issued once and survive turning one factor off', async () => {
    const user = await stack.signUpWithPhone('both');
    const { recoveryCodes, secret } = await enableTotp(user);
    await post('/users/me/two-factor/sms', { password: user.password }, { token: user.token });
    const second = await post('/users/me/two-factor/sms/confirm', { code: await stack.smsCode(user.phone) }, { token: user.token });
    expect(second.json).toMatchObject({ totp: true, sms: true, recovery_codes_remaining: 10 });
    expect(second.json.recovery_codes).toBeUndefined();
    expect((await challengeFor(user)).methods).toEqual(['totp', 'sms', 'recovery_code']);
    const off = await post('/users/me/two-factor/totp/disable', { password: user.password, code: totpCode(secret, 1) }, { token: user.token });
    expect(off.json).toMatchObject({ totp: false, sms: true, recovery_codes_remaining: 10 });
    const c = await challengeFor(user);
    expect((await complete(c.challenge_token, 'recovery_code', recoveryCodes[3]!)).status).toBe(200);
  });
});

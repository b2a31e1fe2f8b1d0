import { describe, expect, it } from 'vitest';
import { api, expectProblem, outcome } from './support';
import { hasSandbox, PASSWORD, signUp, smsCode, totpCode, type SignedUp } from './identity';

/** Signs in with the password, which must stop at the second-factor challenge. */
async function challengeFor(user: SignedUp) {
  const res = await api().POST('/auth/login', { body: { email: user.email, password: PASSWORD, device_name: 'E2E phone' } });
  expect(res.response.status).toBe(200);
  if (res.data?.object !== 'login_challenge') throw new Error(`expected a challenge, got ${res.data?.object}`);
  return res.data;
}

describe.runIf(hasSandbox)('two-factor: authenticator app', () => {
  it('when a user enrols an authenticator app, then sign-in stops at a challenge that a TOTP code or a recovery code (once) completes', async () => {
    const user = await signUp('totp');
    const me = api({ token: user.token });
    expect((await me.GET('/users/me/two-factor')).data).toEqual({ object: 'two_factor', totp: false, sms: false, recovery_codes_remaining: 0 });

    const enrolment = await me.POST('/users/me/two-factor/totp', { body: { password: PASSWORD } });
    expect(enrolment.response.status).toBe(200);
    expect(enrolment.data!.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(enrolment.data!.otpauth_uri).toContain(`secret=${enrolment.data!.secret}`);
    const secret = enrolment.data!.secret;

    expectProblem(outcome(await me.POST('/users/me/two-factor/totp/confirm', { body: { code: String((Number(totpCode(secret)) + 500_000) % 1_000_000).padStart(6, '0') } })), 422, 'invalid_otp_code');
    const enabled = await me.POST('/users/me/two-factor/totp/confirm', { body: { code: totpCode(secret, -1) } });
    expect(enabled.data).toMatchObject({ object: 'two_factor', totp: true, sms: false, recovery_codes_remaining: 10 });
    const recoveryCodes = enabled.data!.recovery_codes!;
    expect(recoveryCodes).toHaveLength(10);
    expectProblem(outcome(await me.POST('/users/me/two-factor/totp', { body: { password: PASSWORD } })), 409, 'two_factor_already_enabled');

    const challenge = await challengeFor(user);
    expect(challenge.methods).toEqual(['totp', 'recovery_code']);
    expectProblem(outcome(await api().POST('/auth/login/challenge', { body: { challenge_token: challenge.challenge_token, method: 'totp', code: '000000' } })), 422, 'invalid_otp_code');
    const session = await api().POST('/auth/login/challenge', { body: { challenge_token: challenge.challenge_token, method: 'totp', code: totpCode(secret, 0) } });
    expect(session.response.status).toBe(200);
    expect(session.data).toMatchObject({ object: 'session_tokens', user_id: user.id });
    expectProblem(
      outcome(await api().POST('/auth/login/challenge', { body: { challenge_token: challenge.challenge_token, method: 'totp', code: totpCode(secret, 1) } })),
      401,
      'invalid_login_challenge',
    );

    const second = await challengeFor(user);
    const byRecovery = await api().POST('/auth/login/challenge', { body: { challenge_token: second.challenge_token, method: 'recovery_code', code: recoveryCodes[0]! } });
    expect(byRecovery.response.status).toBe(200);
    const third = await challengeFor(user);
    expectProblem(outcome(await api().POST('/auth/login/challenge', { body: { challenge_token: third.challenge_token, method: 'recovery_code', code: recoveryCodes[0]! } })), 422, 'invalid_otp_code');
    expect((await me.GET('/users/me/two-factor')).data!.recovery_codes_remaining).toBe(9);
  });

  it('when a user replaces the recovery codes and turns the app off (password + a code each time), then sign-in opens a session again', async () => {
    const user = await signUp('totpoff');
    const me = api({ token: user.token });
    const { secret } = (await me.POST('/users/me/two-factor/totp', { body: { password: PASSWORD } })).data!;
    const first = (await me.POST('/users/me/two-factor/totp/confirm', { body: { code: totpCode(secret, -1) } })).data!.recovery_codes!;

    expectProblem(outcome(await me.POST('/users/me/two-factor/recovery-codes', { body: { password: 'Wrong-pass-1', code: totpCode(secret, 0) } })), 403, 'invalid_credentials');
    const replaced = await me.POST('/users/me/two-factor/recovery-codes', { body: { password: PASSWORD, code: totpCode(secret, 0) } });
    expect(replaced.data!.recovery_codes).toHaveLength(10);
    expect(replaced.data!.recovery_codes).not.toContain(first[0]);

    const off = await me.POST('/users/me/two-factor/totp/disable', { body: { password: PASSWORD, code: replaced.data!.recovery_codes![0]! } });
    expect(off.data).toEqual({ object: 'two_factor', totp: false, sms: false, recovery_codes_remaining: 0 });
    expectProblem(outcome(await me.POST('/users/me/two-factor/totp/disable', { body: { password: PASSWORD, code: totpCode(secret, 1) } })), 409, 'two_factor_not_enabled');
    const login = await api().POST('/auth/login', { body: { email: user.email, password: PASSWORD } });
    expect(login.data!.object).toBe('session_tokens');
  });
});

describe.runIf(hasSandbox)('two-factor: SMS codes', () => {
  it('when a user turns SMS codes on with the code sent to their phone, then sign-in asks for the SMS code, which the challenge sends', async () => {
    const user = await signUp('sms', { phone: true });
    const me = api({ token: user.token });
    const started = await me.POST('/users/me/two-factor/sms', { body: { password: PASSWORD } });
    expect(started.response.status).toBe(202);
    expect(started.data).toMatchObject({ object: 'sms_code', phone: user.phone!.replace(/^(\d{3})-\d{4}-(\d{4})$/, '$1-****-$2') });
    const enabled = await me.POST('/users/me/two-factor/sms/confirm', { body: { code: await smsCode(user.phone!, 0) } });
    expect(enabled.data).toMatchObject({ totp: false, sms: true, recovery_codes_remaining: 10 });

    const challenge = await challengeFor(user);
    expect(challenge.methods).toEqual(['sms', 'recovery_code']);
    const sent = await api().POST('/auth/login/challenge/sms', { body: { challenge_token: challenge.challenge_token } });
    expect(sent.response.status).toBe(202);
    const session = await api().POST('/auth/login/challenge', { body: { challenge_token: challenge.challenge_token, method: 'sms', code: await smsCode(user.phone!, 1) } });
    expect(session.data).toMatchObject({ object: 'session_tokens', user_id: user.id });

    const reauth = await me.POST('/users/me/two-factor/sms/code');
    expect(reauth.response.status).toBe(202);
    const off = await me.POST('/users/me/two-factor/sms/disable', { body: { password: PASSWORD, code: await smsCode(user.phone!, 2) } });
    expect(off.data).toEqual({ object: 'two_factor', totp: false, sms: false, recovery_codes_remaining: 0 });
  });

  it('when the account has no phone, then SMS codes cannot be turned on: 422 phone_required', async () => {
    const user = await signUp('nophone');
    expectProblem(outcome(await api({ token: user.token }).POST('/users/me/two-factor/sms', { body: { password: PASSWORD } })), 422, 'phone_required');
  });
});

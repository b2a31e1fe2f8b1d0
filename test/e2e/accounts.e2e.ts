import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { api, expectProblem, invalidToken, outcome, sendInvalid } from './support';
import { hasSandbox, logIn, mail, newPerson, PASSWORD, signUp } from './identity';

describe.runIf(hasSandbox)('accounts: register, confirm, sign in', () => {
  it('when a person registers and follows the e-mailed link, then they can sign in, and not before', async () => {
    const person = newPerson('reg');
    const registered = await api().POST('/auth/register', { body: person });
    expect(registered.response.status).toBe(202);
    expect(registered.data).toMatchObject({ object: 'registration', email: person.email, status: 'verification_sent' });

    expectProblem(outcome(await api().POST('/auth/login', { body: { email: person.email, password: PASSWORD } })), 403, 'email_not_verified');

    const { token } = await mail(person.email, 'identity.verify-email');
    expect(token).toMatch(/^vt_/);
    const verified = await api().POST('/auth/verify-email', { body: { token: token! } });
    expect(verified.response.status).toBe(200);
    expect(verified.data).toMatchObject({ object: 'email_verification', email: person.email });
    expectProblem(outcome(await api().POST('/auth/verify-email', { body: { token: token! } })), 422, 'invalid_token');

    const session = await logIn(person.email);
    expect(session).toMatchObject({ token_type: 'Bearer', user_id: verified.data!.user_id });
    const profile = await api({ token: session.access_token }).GET('/users/profile');
    expect(profile.data).toMatchObject({ object: 'user_profile', id: session.user_id, email: person.email, nickname: person.nickname, email_verified: true });
  });

  it('when a person asks for the link again, then a new one arrives and works; for an unknown address the answer is the same', async () => {
    const person = newPerson('resend');
    expect((await api().POST('/auth/register', { body: person })).response.status).toBe(202);
    const first = await mail(person.email, 'identity.verify-email');
    const resent = await api().POST('/auth/verify-email/resend', { body: { email: person.email } });
    expect(resent.response.status).toBe(202);
    const unknown = await api().POST('/auth/verify-email/resend', { body: { email: newPerson('nobody').email } });
    expect(unknown.response.status).toBe(202);
    expect(unknown.data).toEqual({ ...resent.data, email: expect.any(String) });
    const second = await mail(person.email, 'identity.verify-email', 1);
    expect(second.token).not.toBe(first.token);
    expect((await api().POST('/auth/verify-email', { body: { token: second.token! } })).response.status).toBe(200);
  });

  it('when the address or nickname is taken, or the password weak, then registration says so without creating anything', async () => {
    const user = await signUp('taken');
    expectProblem(outcome(await api().POST('/auth/register', { body: { ...newPerson('other'), nickname: user.nickname } })), 409, 'nickname_taken');
    expectProblem(outcome(await api().POST('/auth/register', { body: { ...newPerson('weak'), password: 'Password1' } })), 422, 'weak_password');
    // A taken address gets the same answer as a new one (the owner is told by mail instead).
    const again = await api().POST('/auth/register', { body: { ...newPerson('again'), email: user.email } });
    expect(again.response.status).toBe(202);
    expect((await mail(user.email, 'identity.account-exists')).subject).toBeTruthy();
  });

  it('when the body has a field the schema does not, or misses one, then it is a 400', async () => {
    for (const body of [{ ...newPerson('extra'), roles: ['admin'] }, { email: newPerson('short').email, nickname: 'e2eshort' }]) {
      const res = await sendInvalid('api', '/auth/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expectProblem(res, 400, 'validation_failed');
    }
  });

  it('when the password is wrong, then it is a 401 invalid_credentials', async () => {
    const user = await signUp('wrongpw');
    expectProblem(outcome(await api().POST('/auth/login', { body: { email: user.email, password: 'Wrong-pass-1' } })), 401, 'invalid_credentials');
  });
});

/** The editable part of a profile: PUT replaces all of it. */
const profileOf = (p: { nickname: string; notification_preferences: { chat: boolean; keyword_alerts: boolean; transactions: boolean; marketing: boolean } }) => ({
  nickname: p.nickname,
  notification_preferences: p.notification_preferences,
});

describe.runIf(hasSandbox)('profile: ETag and If-Match', () => {
  it('when the profile is updated with the current ETag, then it changes; the old ETag gets 412, the new one 304', async () => {
    const user = await signUp('prof');
    const me = api({ token: user.token });
    const read = await me.GET('/users/profile');
    const etag = read.response.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);

    const nickname = `e2enew${user.nickname.slice(-8)}`;
    const updated = await me.PUT('/users/profile', { params: { header: { 'If-Match': etag } }, body: { ...profileOf(read.data!), nickname, bio: '망원동 E2E' } });
    expect(updated.response.status).toBe(200);
    expect(updated.data).toMatchObject({ nickname, bio: '망원동 E2E' });
    const next = updated.response.headers.get('etag')!;
    expect(next).not.toBe(etag);

    expectProblem(outcome(await me.PUT('/users/profile', { params: { header: { 'If-Match': etag } }, body: { ...profileOf(read.data!), bio: 'late' } })), 412, 'precondition_failed');
    const unchanged = await me.GET('/users/profile', { params: { header: { 'If-None-Match': next } } });
    expect(unchanged.response.status).toBe(304);
    expect(unchanged.response.headers.get('etag')).toBe(next);
  });

  it("when the new nickname is another user's, then 409; a read-only field is a 400", async () => {
    const [user, other] = await Promise.all([signUp('nick1'), signUp('nick2')]);
    const me = api({ token: user.token });
    const read = await me.GET('/users/profile');
    const etag = read.response.headers.get('etag')!;
    expectProblem(outcome(await me.PUT('/users/profile', { params: { header: { 'If-Match': etag } }, body: { ...profileOf(read.data!), nickname: other.nickname } })), 409, 'nickname_taken');
    const res = await sendInvalid('api', '/users/profile', {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}`, 'if-match': etag },
      body: JSON.stringify({ email: 'someone@example.com' }),
    });
    expectProblem(res, 400, 'validation_failed');
  });

  it('when anyone reads a user, then only the public profile comes back; an unknown id is a 404', async () => {
    const user = await signUp('public');
    // The public profile is a read model the worker builds from events: it appears shortly after.
    let res = await api().GET('/users/{user_id}', { params: { path: { user_id: user.id } } });
    for (let i = 0; res.response.status === 404 && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      res = await api().GET('/users/{user_id}', { params: { path: { user_id: user.id } } });
    }
    expect(res.data).toMatchObject({ object: 'user', id: user.id, nickname: user.nickname });
    expect(res.data).not.toHaveProperty('email');
    expectProblem(outcome(await api().GET('/users/{user_id}', { params: { path: { user_id: 'usr_00000000000000000000' } } })), 404, 'not_found');
  });
});

describe.runIf(hasSandbox)('sessions', () => {
  it('when a user lists their devices and signs one out, then its access token stops at once; a session that is not theirs is a 404', async () => {
    const user = await signUp('sess');
    const phone = await logIn(user.email, PASSWORD, 'Galaxy S24');
    const me = api({ token: user.token });
    const list = await me.GET('/users/me/sessions');
    expect(list.data!.data.map((s) => s.id).sort()).toEqual([user.sessionId, phone.session_id].sort());
    expect(list.data!.data.find((s) => s.id === user.sessionId)!.current).toBe(true);
    expect(list.data!.data.find((s) => s.id === phone.session_id)).toMatchObject({ current: false, device_name: 'Galaxy S24' });

    const revoked = await me.DELETE('/users/me/sessions/{session_id}', { params: { path: { session_id: phone.session_id } } });
    expect(revoked.response.status).toBe(204);
    expectProblem(outcome(await api({ token: phone.access_token }).GET('/users/profile')), 401, 'unauthenticated');
    expectProblem(outcome(await api().POST('/auth/refresh', { body: { refresh_token: phone.refresh_token } })), 401, 'invalid_refresh_token');
    expectProblem(outcome(await me.DELETE('/users/me/sessions/{session_id}', { params: { path: { session_id: phone.session_id } } })), 404, 'not_found');

    const stranger = await signUp('stranger');
    expectProblem(outcome(await me.DELETE('/users/me/sessions/{session_id}', { params: { path: { session_id: stranger.sessionId } } })), 404, 'not_found');
    expect((await api({ token: stranger.token }).GET('/users/profile')).response.status).toBe(200);
  });

  it('when a refresh token is rotated, then the old one is spent: using it again ends the session for everyone', async () => {
    const user = await signUp('refresh');
    const rotated = await api().POST('/auth/refresh', { body: { refresh_token: user.refreshToken } });
    expect(rotated.response.status).toBe(200);
    expect(rotated.data).toMatchObject({ object: 'session_tokens', session_id: user.sessionId });
    expect(rotated.data!.refresh_token).not.toBe(user.refreshToken);
    expect((await api({ token: rotated.data!.access_token }).GET('/users/profile')).response.status).toBe(200);

    expectProblem(outcome(await api().POST('/auth/refresh', { body: { refresh_token: user.refreshToken } })), 401, 'refresh_token_reused');
    expectProblem(outcome(await api().POST('/auth/refresh', { body: { refresh_token: rotated.data!.refresh_token } })), 401, 'invalid_refresh_token');
    expectProblem(outcome(await api({ token: rotated.data!.access_token }).GET('/users/profile')), 401, 'unauthenticated');
  });

  it('when a user signs out, then the access and refresh tokens of that session stop, and no other session', async () => {
    const user = await signUp('logout');
    const other = await logIn(user.email);
    const out = await api({ token: user.token }).POST('/auth/logout');
    expect(out.response.status).toBe(204);
    expectProblem(outcome(await api({ token: user.token }).GET('/users/profile')), 401, 'unauthenticated');
    expectProblem(outcome(await api().POST('/auth/refresh', { body: { refresh_token: user.refreshToken } })), 401, 'invalid_refresh_token');
    expect((await api({ token: other.access_token }).GET('/users/profile')).response.status).toBe(200);
  });

  it('when the token is missing or invalid, then every own-account operation is a 401', async () => {
    expectProblem(await sendInvalid('api', '/users/me/sessions'), 401, 'unauthenticated');
    expectProblem(await sendInvalid('api', '/auth/logout', { method: 'POST' }), 401, 'unauthenticated');
    expectProblem(outcome(await api({ token: invalidToken }).GET('/users/profile')), 401, 'unauthenticated');
  });
});

describe.runIf(hasSandbox)('Idempotency-Key', () => {
  it('when a request is retried with the same key, then the first answer is replayed; the key with other content is a 422', async () => {
    const user = await signUp('idem');
    const key = randomUUID();
    const ask = (email: string) => api().POST('/auth/reset-password', { params: { header: { 'Idempotency-Key': key } }, body: { email } });
    const first = await ask(user.email);
    expect(first.response.status).toBe(202);
    const again = await ask(user.email);
    expect(again.response.status).toBe(202);
    expect(again.response.headers.get('idempotent-replayed')).toBe('true');
    expect(again.data).toEqual(first.data);
    expectProblem(outcome(await ask(newPerson('other').email)), 422, 'idempotency_key_reused');

    const me = api({ token: user.token });
    const started = await me.POST('/users/verify', { params: { header: { 'Idempotency-Key': key } } });
    expect(started.response.status).toBe(201);
    const replayed = await me.POST('/users/verify', { params: { header: { 'Idempotency-Key': key } } });
    expect(replayed.response.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.data!.id).toBe(started.data!.id);
  });
});

describe.runIf(hasSandbox)('passwords', () => {
  it('when a user resets the password by mail, then the new one works, the old one not, and every session ends', async () => {
    const user = await signUp('reset');
    expect((await api().POST('/auth/reset-password', { body: { email: user.email } })).response.status).toBe(202);
    const { token } = await mail(user.email, 'identity.reset-password');
    const reset = await api().POST('/auth/reset-password/confirm', { body: { token: token!, new_password: 'Mangwon-2026!' } });
    expect(reset.response.status).toBe(204);
    expectProblem(outcome(await api({ token: user.token }).GET('/users/profile')), 401, 'unauthenticated');
    expectProblem(outcome(await api().POST('/auth/login', { body: { email: user.email, password: PASSWORD } })), 401, 'invalid_credentials');
    expect((await logIn(user.email, 'Mangwon-2026!')).user_id).toBe(user.id);
    expectProblem(outcome(await api().POST('/auth/reset-password/confirm', { body: { token: token!, new_password: 'Mangwon-2027!' } })), 422, 'invalid_token');
  });

  it('when a user changes the password, then a wrong current one is a 403, and with the right one the other sessions end and this one stays', async () => {
    const user = await signUp('change');
    const other = await logIn(user.email);
    const me = api({ token: user.token });
    expectProblem(outcome(await me.PUT('/users/me/password', { body: { current_password: 'Wrong-pass-1', new_password: 'Mangwon-2026!' } })), 403, 'invalid_credentials');
    const changed = await me.PUT('/users/me/password', { body: { current_password: PASSWORD, new_password: 'Mangwon-2026!' } });
    expect(changed.response.status).toBe(204);
    expect((await me.GET('/users/profile')).response.status).toBe(200);
    expectProblem(outcome(await api({ token: other.access_token }).GET('/users/profile')), 401, 'unauthenticated');
  });
});

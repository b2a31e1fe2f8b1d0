import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, raw } from '../../support/http';
import { startIdentityStack, type IdentityStack } from '../../support/identity';
import { waitFor } from '../../support/wait';

let stack: IdentityStack;

beforeAll(async () => {
  stack = await startIdentityStack();
});
afterAll(() => stack.stop());

const prefs = { chat: true, keyword_alerts: false, transactions: true, marketing: false };

describe('GET and PUT /v1/users/profile', () => {
  it('returns the own profile with a strong ETag, and 304 for If-None-Match with it', async () => {
    const user = await stack.signUp('prof');
    const client = stack.api.client({ token: user.token });
    const { data, response } = await client.GET('/users/profile');
    expect(data).toMatchObject({ object: 'user_profile', id: user.id, email: user.email, email_verified: true, nickname: user.nickname, roles: ['user'], identity_verified: false, two_factor: { totp: false, sms: false } });
    const etag = response.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const again = await client.GET('/users/profile', { params: { header: { 'If-None-Match': etag } } });
    expect(again.response.status).toBe(304);
  });

  it('when updated with the current ETag, then 200 with a new ETag; with a stale one, then 412 and nothing changes', async () => {
    const user = await stack.signUp('upd');
    const client = stack.api.client({ token: user.token });
    const etag = (await client.GET('/users/profile')).response.headers.get('etag')!;
    const nickname = `${user.nickname.slice(0, 10)}new`;
    const ok = await client.PUT('/users/profile', { params: { header: { 'If-Match': etag } }, body: { nickname, bio: '망원동 주민입니다.\n잘 부탁드려요.', notification_preferences: prefs } });
    expect(ok.response.status).toBe(200);
    expect(ok.data).toMatchObject({ nickname, bio: '망원동 주민입니다.\n잘 부탁드려요.', notification_preferences: prefs });
    expect(ok.response.headers.get('etag')).not.toBe(etag);

    const stale = await client.PUT('/users/profile', { params: { header: { 'If-Match': etag } }, body: { nickname: 'stalewriter', notification_preferences: prefs } });
    expect(stale.response.status).toBe(412);
    expect(stale.error).toMatchObject({ code: 'precondition_failed' });
    expect((await client.GET('/users/profile')).data?.nickname).toBe(nickname);
  });

  it('when the update sends role, verification or e-mail fields, then 400 and nothing changes (no mass assignment)', async () => {
    const user = await stack.signUp('mass');
    for (const extra of [{ roles: ['admin'] }, { identity_verified: true }, { email: 'x@example.com' }, { email_verified: false }]) {
      const res = await raw(`${stack.api.url}/v1/users/profile`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ nickname: user.nickname, notification_preferences: prefs, ...extra }),
      });
      expectProblem(res, 400, 'validation_failed');
    }
    const { rows } = await stack.db.query(`SELECT roles, identity_verified_at, version FROM users WHERE id = $1`, [user.id]);
    expect(rows[0]).toMatchObject({ roles: ['user'], identity_verified_at: null, version: 2 });
  });

  it("when the nickname is someone else's, then 409 nickname_taken", async () => {
    const a = await stack.signUp('nka');
    const b = await stack.signUp('nkb');
    const res = await stack.api.client({ token: b.token }).PUT('/users/profile', { body: { nickname: a.nickname.toUpperCase(), notification_preferences: prefs } });
    expect(res.response.status).toBe(409);
    expect(res.error).toMatchObject({ code: 'nickname_taken' });
  });

  it('when the nickname changes to a staff-like one, then 422 nickname_reserved; a staff-like nickname the account already has does not block other edits', async () => {
    const user = await stack.signUp('rsvp');
    const api = stack.api.client({ token: user.token });
    const refused = await api.PUT('/users/profile', { body: { nickname: '중고_관리자', notification_preferences: prefs } });
    expect(refused.response.status).toBe(422);
    expect(refused.error).toMatchObject({ code: 'nickname_reserved' });
    // As the operators' account has (중고운영팀, given by staff, not through this operation).
    const staffLike = `중고운영${user.id.slice(-6)}`;
    await stack.db.query('UPDATE users SET nickname = $2 WHERE id = $1', [user.id, staffLike]);
    const kept = await api.PUT('/users/profile', { body: { nickname: staffLike, bio: '공지 담당', notification_preferences: prefs } });
    expect(kept.response.status).toBe(200);
    expect(kept.data).toMatchObject({ nickname: staffLike, bio: '공지 담당' });
  });

  it('without a token, then 401', async () => {
    expectProblem(await raw(`${stack.api.url}/v1/users/profile`), 401, 'unauthenticated');
  });
});

describe('GET /v1/users/{user_id}', () => {
  it("shows another user only the public fields, from the UserProfile read model, and follows the user's edits", async () => {
    const a = await stack.signUp('puba');
    const b = await stack.signUp('pubb');
    const viewer = stack.api.client({ token: b.token });
    const first = await waitFor('the projection of a', async () => {
      const r = await viewer.GET('/users/{user_id}', { params: { path: { user_id: a.id } } });
      return r.response.status === 200 ? r.data : undefined;
    });
    expect(first).toEqual({ object: 'user', id: a.id, nickname: a.nickname, identity_verified: false, joined_at: expect.any(String) });
    expect(JSON.stringify(first)).not.toContain(a.email);

    await stack.api.client({ token: a.token }).PUT('/users/profile', { body: { nickname: a.nickname, bio: '안녕하세요', notification_preferences: prefs } });
    const edited = await waitFor('the edit to be projected', async () => {
      const r = await viewer.GET('/users/{user_id}', { params: { path: { user_id: a.id } } });
      return r.data?.bio === '안녕하세요' ? r.data : undefined;
    });
    expect(edited.bio).toBe('안녕하세요');
    // Anonymous callers see the same public view.
    expect((await stack.api.client().GET('/users/{user_id}', { params: { path: { user_id: a.id } } })).data?.nickname).toBe(a.nickname);
  });

  it('when no user has the id, then 404', async () => {
    const res = await stack.api.client().GET('/users/{user_id}', { params: { path: { user_id: 'usr_00000000000000000000' } } });
    expect(res.response.status).toBe(404);
  });
});

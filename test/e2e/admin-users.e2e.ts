import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { api, E2E, expectProblem, outcome, sendInvalid } from './support';
import { hasSandbox, PASSWORD, signUp } from './identity';

const admin = () => api({ token: E2E.adminToken });
const inAWeek = () => new Date(Date.now() + 7 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

describe.runIf(hasSandbox)('account administration', () => {
  it('when an admin searches by e-mail, then exactly that account comes back, with its staff view', async () => {
    const user = await signUp('find');
    const found = await admin().GET('/admin/users', { params: { query: { email: user.email } } });
    expect(found.response.status).toBe(200);
    expect(found.data!.data).toHaveLength(1);
    expect(found.data!.data[0]).toMatchObject({ object: 'user_account', id: user.id, email: user.email, status: 'active', roles: ['user'] });
    const one = await admin().GET('/admin/users/{user_id}', { params: { path: { user_id: user.id } } });
    expect(one.data).toMatchObject({ id: user.id, nickname: user.nickname, email_verified: true });
    // Filtered to this suite's accounts: the shared test database may hold rows other suites wrote.
    const page = await admin().GET('/admin/users', { params: { query: { nickname_prefix: 'e2e', limit: 1 } } });
    expect(page.data!.data).toHaveLength(1);
    expect(page.data!.has_more).toBe(true);
  });

  it('when an admin suspends a user, then their token stops at once and sign-in is refused; reinstated, they sign in again', async () => {
    const user = await signUp('susp');
    const path = { user_id: user.id };
    const suspended = await admin().POST('/admin/users/{user_id}/suspension', {
      params: { path, header: { 'Idempotency-Key': randomUUID() } },
      body: { kind: 'suspend', reason: 'E2E: 거래 사기 신고', until: inAWeek() },
    });
    expect(suspended.response.status).toBe(200);
    expect(suspended.data).toMatchObject({ id: user.id, status: 'suspended' });
    expectProblem(outcome(await api({ token: user.token }).GET('/users/profile')), 401, 'unauthenticated');
    expectProblem(outcome(await api().POST('/auth/login', { body: { email: user.email, password: PASSWORD } })), 403, 'account_suspended');
    expectProblem(outcome(await api().POST('/auth/refresh', { body: { refresh_token: user.refreshToken } })), 403, 'account_suspended');

    const reinstated = await admin().DELETE('/admin/users/{user_id}/suspension', { params: { path } });
    expect(reinstated.data).toMatchObject({ id: user.id, status: 'active' });
    const login = await api().POST('/auth/login', { body: { email: user.email, password: PASSWORD } });
    expect(login.data!.object).toBe('session_tokens');
  });

  it('when an admin makes a user moderator, then the roles change and the refreshed token can list accounts', async () => {
    const user = await signUp('mod');
    const roles = await admin().PUT('/admin/users/{user_id}/roles', { params: { path: { user_id: user.id } }, body: { roles: ['user', 'moderator'] } });
    expect(roles.data!.roles).toEqual(['user', 'moderator']);
    const refreshed = await api().POST('/auth/refresh', { body: { refresh_token: user.refreshToken } });
    const listed = await api({ token: refreshed.data!.access_token }).GET('/admin/users', { params: { query: { email: user.email } } });
    expect(listed.data!.data.map((a) => a.id)).toEqual([user.id]);
  });

  it('when the request breaks a rule, then 422 or 400 with its code; an unknown account is a 404', async () => {
    const user = await signUp('rules');
    const path = { user_id: user.id };
    expectProblem(outcome(await admin().POST('/admin/users/{user_id}/suspension', { params: { path }, body: { kind: 'suspend', reason: 'no end' } })), 422, 'until_required');
    expectProblem(
      outcome(await admin().POST('/admin/users/{user_id}/suspension', { params: { path: { user_id: 'usr_00000000000000000000' } }, body: { kind: 'ban', reason: 'nobody' } })),
      404,
      'not_found',
    );
    const res = await sendInvalid('api', `/admin/users/${user.id}/roles`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${E2E.adminToken}` },
      body: JSON.stringify({ roles: ['user', 'superuser'] }),
    });
    expectProblem(res, 400, 'validation_failed');
  });

  it('when a plain user calls an admin operation, then it is a 403; without a token a 401', async () => {
    const user = await signUp('plain');
    expectProblem(outcome(await api({ token: user.token }).GET('/admin/users')), 403, 'forbidden');
    expectProblem(outcome(await api({ token: user.token }).DELETE('/admin/users/{user_id}/suspension', { params: { path: { user_id: user.id } } })), 403, 'forbidden');
    expectProblem(await sendInvalid('api', '/admin/users'), 401, 'unauthenticated');
  });
});

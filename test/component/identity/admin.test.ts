import { randomBytes } from 'node:crypto';
import type { Queue } from 'bull';
import jwt from 'jsonwebtoken';
import { Client } from 'pg';
import { Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantRole } from '../../../src/cli/grant-role';
import { activityLogProjection, type ActivityLogEntry } from '../../../src/modules/activity/activity-log.projection';
import { personalDataCipher } from '../../../src/modules/users';
import { createAccountRepository } from '../../../src/modules/users/admin/data/account-repository';
import { accountAdminUseCases, type AccountAdmin } from '../../../src/modules/users/admin/domain/account-admin';
import { createSessionRepository } from '../../../src/modules/users/data/session-repository';
import { TokenRevocations } from '../../../src/modules/users/data/token-revocations';
import { createRequestContext } from '../../../src/platform/context';
import { eventRecorder } from '../../../src/platform/events/event-store';
import { closeRedis, connectRedis } from '../../../src/platform/redis';
import { createDocumentStore } from '../../../src/platform/documents';
import type { Collection, DocumentStore } from '../../../src/platform/documents/document-store';
import { createLogger } from '../../../src/platform/logger';
import { expectProblem, raw } from '../../support/http';
import { STRONG_PASSWORD, startIdentityStack, type IdentityStack, type SignedUpUser } from '../../support/identity';
import { waitFor } from '../../support/wait';

let stack: IdentityStack;
let db: Client;
let store: DocumentStore;
let activity: Collection<ActivityLogEntry>;
let admin: SignedUpUser;

beforeAll(async () => {
  stack = await startIdentityStack();
  db = new Client({ connectionString: stack.api.config.DATABASE_URL });
  await db.connect();
  store = await createDocumentStore({ databaseUrl: stack.api.config.DATABASE_URL, mongodbUrl: stack.api.config.MONGODB_URL, log: createLogger('silent', 'test') });
  activity = await store.collection<ActivityLogEntry>(activityLogProjection.collection);
  admin = await staff('admin', 'adm');
});
afterAll(async () => {
  await store.close();
  await db.end();
  await stack.stop();
});

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const inFuture = (ms: number) => new Date(Date.now() + ms).toISOString();

/** A signed-up user given a staff role through the CLI, then signed in again so the token carries it. */
async function staff(role: 'admin' | 'moderator', tag: string): Promise<SignedUpUser> {
  const user = await stack.signUp(tag);
  await grantRole(user.email, role, stack.api.config);
  const t = await stack.login(user.email, user.password);
  return { ...user, token: t.access_token, refreshToken: t.refresh_token, sessionId: t.session_id };
}

const call = (method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}) =>
  raw(`${stack.api.url}/v1${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
const suspend = (token: string, userId: string, body: unknown, headers?: Record<string, string>) => call('POST', `/admin/users/${userId}/suspension`, token, body, headers);
const reinstate = (token: string, userId: string) => call('DELETE', `/admin/users/${userId}/suspension`, token);
const setRoles = (token: string, userId: string, roles: unknown) => call('PUT', `/admin/users/${userId}/roles`, token, { roles });
const profileStatus = async (token: string) => (await call('GET', '/users/profile', token)).status;
const publicStatus = async (userId: string) => (await call('GET', `/users/${userId}`)).status;
const loginStatus = async (u: SignedUpUser) => call('POST', '/auth/login', undefined, { email: u.email, password: u.password });

// Token issue times have one-second resolution, and a token from the very second of a role
// change still passes (TokenRevocations.isValid): tests of "old tokens stop" start a second later.
const nextSecond = () => new Promise((r) => setTimeout(r, 1_100));

const eventsOf = async (userId: string, type: string) =>
  (await db.query<{ id: string; payload: Record<string, unknown>; metadata: Record<string, unknown> }>(
    `SELECT id, payload, metadata FROM events WHERE aggregate_type = 'user' AND aggregate_id = $1 AND type = $2 ORDER BY aggregate_version`,
    [userId, type],
  )).rows;

/** Registers accounts (unverified is enough to be listed) whose nicknames share a fresh prefix. */
async function accountsWithPrefix(n: number): Promise<{ prefix: string; ids: string[] }> {
  const prefix = `q${randomBytes(4).toString('hex')}`;
  const emails: string[] = [];
  for (let i = 0; i < n; i += 1) {
    const email = `${prefix}-${i}@example.com`;
    const res = await stack.api.client().POST('/auth/register', { body: { email, password: STRONG_PASSWORD, nickname: `${prefix}${i}x` } });
    expect(res.response.status).toBe(202);
    emails.push(email);
  }
  const { rows } = await db.query<{ id: string }>(`SELECT id FROM users WHERE lower(nickname) LIKE $1 ORDER BY created_at DESC, id DESC`, [`${prefix}%`]);
  return { prefix, ids: rows.map((r) => r.id) };
}

describe('grant-role CLI', () => {
  it('when given an e-mail and a role, then the account gets it (recorded as user.roles_changed via cli); again, nothing changes; unknown input is refused', async () => {
    const user = await stack.signUp('cli');
    expect(await grantRole(user.email.toUpperCase(), 'moderator', stack.api.config)).toBe(`${user.id} now has the roles: user, moderator`);
    expect(await grantRole(user.email, 'moderator', stack.api.config)).toMatch(/already has the role moderator/);
    const [event, ...more] = await eventsOf(user.id, 'user.roles_changed');
    expect(more).toHaveLength(0);
    expect(event!.payload).toEqual({ user_id: user.id, previous: ['user'], roles: ['user', 'moderator'], by: null, via: 'cli' });
    await expect(grantRole('nobody-here@example.com', 'admin', stack.api.config)).rejects.toThrow(/no account/);
    await expect(grantRole(user.email, 'root', stack.api.config)).rejects.toThrow(/unknown role/);
    await expect(grantRole(undefined, undefined, stack.api.config)).rejects.toThrow(/usage/);
  });
});

describe('function-level authorization on /v1/admin', () => {
  it('when a plain user calls any admin operation, then 403 forbidden naming the permission; without a token, 401', async () => {
    const user = await stack.signUp('plain');
    const other = await stack.signUp('victim');
    const cases = [
      [await call('GET', '/admin/users', user.token), 'users:read'],
      [await call('GET', `/admin/users/${other.id}`, user.token), 'users:read'],
      [await suspend(user.token, other.id, { kind: 'suspend', reason: 'x', until: inFuture(DAY) }), 'users:suspend'],
      [await suspend(user.token, other.id, { kind: 'ban', reason: 'x' }), 'users:ban'],
      [await reinstate(user.token, other.id), 'users:suspend'],
      [await setRoles(user.token, user.id, ['user', 'admin']), 'users:assign_roles'],
    ] as const;
    for (const [res, permission] of cases) {
      expectProblem(res, 403, 'forbidden');
      expect(res.json.detail).toContain(permission);
    }
    expectProblem(await call('GET', '/admin/users'), 401, 'unauthenticated');
    const { rows } = await db.query(`SELECT roles, status FROM users WHERE id = ANY($1)`, [[user.id, other.id]]);
    expect(rows).toEqual([{ roles: ['user'], status: 'active' }, { roles: ['user'], status: 'active' }]);
  });
});

describe('GET /v1/admin/users', () => {
  it('when searching by nickname prefix (any case), then the matching accounts come newest first, page by page with a cursor', async () => {
    const { prefix, ids } = await accountsWithPrefix(3);
    const client = stack.api.client({ token: admin.token });
    const first = await client.GET('/admin/users', { params: { query: { nickname_prefix: prefix.toUpperCase(), limit: 2 } } });
    expect(first.data?.data.map((a) => a.id)).toEqual(ids.slice(0, 2));
    expect(first.data).toMatchObject({ object: 'list', has_more: true, next_cursor: expect.stringMatching(/^[A-Za-z0-9_-]+$/) });
    const second = await client.GET('/admin/users', { params: { query: { nickname_prefix: prefix.toUpperCase(), limit: 2, cursor: first.data!.next_cursor! } } });
    expect(second.data?.data.map((a) => a.id)).toEqual(ids.slice(2));
    expect(second.data).toMatchObject({ has_more: false, next_cursor: null });
    expect(first.data!.data[0]).toMatchObject({ object: 'user_account', email: `${prefix}-2@example.com`, email_verified: false, roles: ['user'], status: 'active' });
    expect(JSON.stringify(first.data)).not.toMatch(/password|argon2|phone/);
  });

  it('when the cursor is altered, comes from other filters or is garbage, then 400 invalid_cursor', async () => {
    const { prefix } = await accountsWithPrefix(2);
    const page = await call('GET', `/admin/users?nickname_prefix=${prefix}&limit=1`, admin.token);
    const cursor = page.json.next_cursor as string;
    const decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    const altered = Buffer.from(JSON.stringify(['0', ...decoded.slice(1)])).toString('base64url');
    expectProblem(await call('GET', `/admin/users?nickname_prefix=${prefix}&limit=1&cursor=${altered}`, admin.token), 400, 'invalid_cursor');
    expectProblem(await call('GET', `/admin/users?nickname_prefix=${prefix}&status=active&limit=1&cursor=${cursor}`, admin.token), 400, 'invalid_cursor');
    expectProblem(await call('GET', `/admin/users?nickname_prefix=${prefix}&cursor=bm90LWpzb24`, admin.token), 400, 'invalid_cursor');
    expect((await call('GET', `/admin/users?nickname_prefix=${prefix}&limit=1&cursor=${cursor}`, admin.token)).status).toBe(200);
  });

  it('when searching by exact e-mail (any case), then exactly that account, e-mail decrypted; parameters out of range are 400', async () => {
    const user = await stack.signUp('mail');
    const res = await call('GET', `/admin/users?email=${encodeURIComponent(user.email.toUpperCase())}`, admin.token);
    expect(res.status).toBe(200);
    expect(res.json.data).toEqual([expect.objectContaining({ id: user.id, email: user.email, nickname: user.nickname, email_verified: true })]);
    const partial = await call('GET', `/admin/users?email=${encodeURIComponent(user.email.slice(1))}`, admin.token);
    expect(partial.json.data).toEqual([]);
    expectProblem(await call('GET', '/admin/users?limit=0', admin.token), 400, 'validation_failed');
    expectProblem(await call('GET', '/admin/users?limit=101', admin.token), 400, 'validation_failed');
    expectProblem(await call('GET', '/admin/users?status=deleted', admin.token), 400, 'validation_failed');
    expectProblem(await call('GET', '/admin/users?password=x', admin.token), 400, 'validation_failed');
  });

  it('when filtering by status and role, then only accounts with that status in force and that role', async () => {
    const { prefix, ids } = await accountsWithPrefix(3);
    const [newest, middle, oldest] = ids as [string, string, string];
    expect((await suspend(admin.token, newest, { kind: 'suspend', reason: '스팸', until: inFuture(2 * DAY) })).status).toBe(200);
    expect((await suspend(admin.token, middle, { kind: 'ban', reason: '사기' })).status).toBe(200);
    expect((await setRoles(admin.token, oldest, ['moderator'])).status).toBe(200);
    const ids_ = async (q: string) => ((await call('GET', `/admin/users?nickname_prefix=${prefix}&${q}`, admin.token)).json.data as { id: string }[]).map((a) => a.id);
    expect(await ids_('status=suspended')).toEqual([newest]);
    expect(await ids_('status=banned')).toEqual([middle]);
    expect(await ids_('status=active')).toEqual([oldest]);
    expect(await ids_('role=moderator')).toEqual([oldest]);
    expect(await ids_('role=moderator&status=banned')).toEqual([]);
    // A suspension whose end has passed counts as active, before anything lifts it.
    await db.query(`UPDATE users SET suspended_until = now() - interval '1 second' WHERE id = $1`, [newest]);
    expect(await ids_('status=active')).toEqual([newest, oldest]);
  });
});

describe('GET /v1/admin/users/{user_id}', () => {
  it('when the account exists, then its staff view, suspended ones included; an unknown id is 404', async () => {
    const user = await stack.signUp('view');
    await suspend(admin.token, user.id, { kind: 'suspend', reason: '욕설', until: inFuture(3 * DAY) });
    const res = await stack.api.client({ token: admin.token }).GET('/admin/users/{user_id}', { params: { path: { user_id: user.id } } });
    expect(res.data).toMatchObject({ id: user.id, email: user.email, status: 'suspended', suspension: { kind: 'suspend', reason: '욕설', until: expect.any(String) } });
    expectProblem(await call('GET', '/admin/users/usr_00000000000000000000', admin.token), 404, 'not_found');
  });
});

describe('POST /v1/admin/users/{user_id}/suspension', () => {
  it('when a user is suspended, then their access token is 401 at once, refresh and sign-in are 403 account_suspended, and the public profile is 404; reinstated, they sign in again', async () => {
    const user = await stack.signUp('susp');
    await waitFor('the public profile', async () => ((await publicStatus(user.id)) === 200 ? true : undefined));
    expect(await profileStatus(user.token)).toBe(200);
    const until = inFuture(7 * DAY);
    const res = await suspend(admin.token, user.id, { kind: 'suspend', reason: '  거래 사기 신고 3건 확인 ', until });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id: user.id, status: 'suspended', suspension: { kind: 'suspend', reason: '거래 사기 신고 3건 확인', until: new Date(until).toISOString() } });

    expect(await profileStatus(user.token)).toBe(401);
    expectProblem(await call('POST', '/auth/refresh', undefined, { refresh_token: user.refreshToken }), 403, 'account_suspended');
    expectProblem(await loginStatus(user), 403, 'account_suspended');
    await waitFor('the profile to be hidden', async () => ((await publicStatus(user.id)) === 404 ? true : undefined));

    const [event] = await eventsOf(user.id, 'user.suspended');
    expect(event!.payload).toEqual({ user_id: user.id, kind: 'suspend', reason: '거래 사기 신고 3건 확인', until: new Date(until).toISOString(), by: admin.id, previous_status: 'active', sessions_ended: 0 });
    expect(event!.metadata).toMatchObject({ actor_id: admin.id, request_id: res.headers.get('request-id') });
    const logged = await waitFor('the activity log entry', async () => (await activity.get(event!.id)) ?? undefined);
    expect(logged).toMatchObject({ actor_id: admin.id, event_type: 'user.suspended', aggregate_id: user.id });

    const back = await reinstate(admin.token, user.id);
    expect(back.status).toBe(200);
    expect(back.json).toMatchObject({ status: 'active' });
    expect(back.json.suspension).toBeUndefined();
    expect((await loginStatus(user)).status).toBe(200);
    // The session survived the suspension: its refresh token works again.
    expect((await call('POST', '/auth/refresh', undefined, { refresh_token: user.refreshToken })).status).toBe(200);
    await waitFor('the profile to show again', async () => ((await publicStatus(user.id)) === 200 ? true : undefined));
    const [lifted] = await eventsOf(user.id, 'user.reinstated');
    expect(lifted!.payload).toEqual({ user_id: user.id, reason: 'lifted', by: admin.id, previous_status: 'suspended' });
    expect(lifted!.metadata).toMatchObject({ actor_id: admin.id });
    expect(await waitFor('the reinstatement in the activity log', async () => (await activity.get(lifted!.id)) ?? undefined)).toMatchObject({ actor_id: admin.id });

    const again = await reinstate(admin.token, user.id);
    expect(again.status).toBe(200);
    expect(await eventsOf(user.id, 'user.reinstated')).toHaveLength(1);
  });

  it('when a user is banned, then every session ends and sign-in is refused; lifting the ban lets them sign in, old sessions stay ended', async () => {
    const user = await stack.signUp('ban');
    const second = await stack.login(user.email, user.password);
    const res = await suspend(admin.token, user.id, { kind: 'ban', reason: '반복된 사기 거래' });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: 'banned', suspension: { kind: 'ban', reason: '반복된 사기 거래' } });
    expect((res.json.suspension as Record<string, unknown>).until).toBeUndefined();
    expect(await profileStatus(user.token)).toBe(401);
    expect(await profileStatus(second.access_token)).toBe(401);
    const { rows } = await db.query(`SELECT revoked_reason FROM sessions WHERE user_id = $1`, [user.id]);
    expect(rows).toEqual([{ revoked_reason: 'banned' }, { revoked_reason: 'banned' }]);
    expectProblem(await call('POST', '/auth/refresh', undefined, { refresh_token: second.refresh_token }), 401, 'invalid_refresh_token');
    expectProblem(await loginStatus(user), 403, 'account_suspended');
    const [event] = await eventsOf(user.id, 'user.suspended');
    expect(event!.payload).toMatchObject({ kind: 'ban', by: admin.id, sessions_ended: 2 });

    expect((await reinstate(admin.token, user.id)).status).toBe(200);
    expect((await loginStatus(user)).status).toBe(200);
    expectProblem(await call('POST', '/auth/refresh', undefined, { refresh_token: user.refreshToken }), 401, 'invalid_refresh_token');
  });

  it('when the request breaks a rule, then 422 with its code (or 400 for an unknown field), and nothing changes', async () => {
    const user = await stack.signUp('rules');
    const cases = [
      [{ kind: 'suspend', reason: 'x' }, 422, 'until_required'],
      [{ kind: 'ban', reason: 'x', until: inFuture(DAY) }, 422, 'until_not_allowed'],
      [{ kind: 'suspend', reason: 'x', until: inFuture(10 * 60_000) }, 422, 'until_too_soon'],
      [{ kind: 'suspend', reason: 'x', until: inFuture(-DAY) }, 422, 'until_too_soon'],
      [{ kind: 'suspend', reason: 'x', until: inFuture(400 * DAY) }, 422, 'until_too_far'],
      // Valid RFC 3339 that no Date can hold: it used to pass every bound and fail in SQL (500).
      [{ kind: 'suspend', reason: 'x', until: `${new Date().getUTCFullYear() + 1}-06-30T23:59:60Z` }, 422, 'until_invalid'],
      [{ kind: 'suspend', reason: '   ', until: inFuture(DAY) }, 400, 'validation_failed'],
      [{ kind: 'suspend', reason: 'x', until: inFuture(DAY), status: 'active' }, 400, 'validation_failed'],
      [{ kind: 'delete', reason: 'x' }, 400, 'validation_failed'],
    ] as const;
    for (const [body, status, code] of cases) expectProblem(await suspend(admin.token, user.id, body), status, code);
    expectProblem(await suspend(admin.token, admin.id, { kind: 'suspend', reason: 'x', until: inFuture(DAY) }), 422, 'cannot_target_self');
    expectProblem(await suspend(admin.token, 'usr_00000000000000000000', { kind: 'ban', reason: 'x' }), 404, 'not_found');
    expect(await eventsOf(user.id, 'user.suspended')).toHaveLength(0);
    expect(await profileStatus(user.token)).toBe(200);
  });

  it('when retried with the same Idempotency-Key, then the stored answer is replayed and the suspension recorded once', async () => {
    const user = await stack.signUp('idem');
    const body = { kind: 'suspend', reason: '도배', until: inFuture(DAY) };
    const key = { 'Idempotency-Key': `susp-${randomBytes(8).toString('hex')}` };
    const first = await suspend(admin.token, user.id, body, key);
    const replay = await suspend(admin.token, user.id, body, key);
    expect(first.status).toBe(200);
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(first.text);
    expect(await eventsOf(user.id, 'user.suspended')).toHaveLength(1);
  });

  it('when the suspension ends, then a job lifts it: user.reinstated (reason expired) and the profile shows again', async () => {
    const user = await stack.signUp('expire');
    const res = await suspend(admin.token, user.id, { kind: 'suspend', reason: '잠시 정지', until: inFuture(2 * HOUR) });
    expect(res.status).toBe(200);
    await waitFor('the profile to be hidden', async () => ((await publicStatus(user.id)) === 404 ? true : undefined));
    const [event] = await eventsOf(user.id, 'user.suspended');
    // Let the two hours pass: end the suspension in the row, then run the delayed job now.
    await db.query(`UPDATE users SET suspended_until = now() - interval '1 second' WHERE id = $1`, [user.id]);
    const queue = stack.worker.jobs.all().find((q: Queue) => q.name === 'suspensions')!;
    const job = await queue.getJob(`users.end-suspension|${event!.id}`);
    expect(job?.opts.delay).toBeGreaterThan(HOUR);
    await job!.promote();
    const lifted = await waitFor('user.reinstated', async () => (await eventsOf(user.id, 'user.reinstated'))[0]);
    expect(lifted.payload).toEqual({ user_id: user.id, reason: 'expired', by: null, previous_status: 'suspended' });
    expect(lifted.metadata).toMatchObject({ causation_id: event!.id });
    const { rows } = await db.query(`SELECT status, suspended_until, suspension_reason FROM users WHERE id = $1`, [user.id]);
    expect(rows[0]).toEqual({ status: 'active', suspended_until: null, suspension_reason: null });
    await waitFor('the profile to show again', async () => ((await publicStatus(user.id)) === 200 ? true : undefined));
    expect((await loginStatus(user)).status).toBe(200);
  });
});

describe('PUT /v1/admin/users/{user_id}/roles', () => {
  it('when a user is made moderator, then their old token is 401 until refreshed, and the refreshed one carries the role', async () => {
    const user = await stack.signUp('promo');
    await nextSecond();
    const res = await stack.api.client({ token: admin.token }).PUT('/admin/users/{user_id}/roles', { params: { path: { user_id: user.id } }, body: { roles: ['moderator'] } });
    expect(res.data).toMatchObject({ id: user.id, roles: ['user', 'moderator'] });
    expect(await profileStatus(user.token)).toBe(401);
    const refreshed = await call('POST', '/auth/refresh', undefined, { refresh_token: user.refreshToken });
    expect(refreshed.status).toBe(200);
    const token = refreshed.json.access_token as string;
    expect((jwt.decode(token) as { roles: string[] }).roles).toEqual(['user', 'moderator']);
    expect((await call('GET', '/admin/users?limit=1', token)).status).toBe(200);
    const [event] = await eventsOf(user.id, 'user.roles_changed');
    expect(event!.payload).toEqual({ user_id: user.id, previous: ['user'], roles: ['user', 'moderator'], by: admin.id });
    expect(event!.metadata).toMatchObject({ actor_id: admin.id });
    expect(await waitFor('the activity log entry', async () => (await activity.get(event!.id)) ?? undefined)).toMatchObject({ actor_id: admin.id, event_type: 'user.roles_changed' });

    const same = await setRoles(admin.token, user.id, ['user', 'moderator']);
    expect(same.status).toBe(200);
    expect(await eventsOf(user.id, 'user.roles_changed')).toHaveLength(1);
  });

  it('when the body has an unknown role or field, then 400 and the roles stay', async () => {
    const user = await stack.signUp('mass');
    expectProblem(await setRoles(admin.token, user.id, ['superadmin']), 400, 'validation_failed');
    expectProblem(await call('PUT', `/admin/users/${user.id}/roles`, admin.token, { roles: ['admin'], status: 'active' }), 400, 'validation_failed');
    expectProblem(await setRoles(admin.token, user.id, []), 400, 'validation_failed');
    expectProblem(await setRoles(admin.token, 'usr_00000000000000000000', ['moderator']), 404, 'not_found');
    const { rows } = await db.query(`SELECT roles FROM users WHERE id = $1`, [user.id]);
    expect(rows[0].roles).toEqual(['user']);
  });

  it('when an admin steps down while others remain, then the role goes and their own token must be refreshed', async () => {
    const leaving = await staff('admin', 'leave');
    await nextSecond();
    const res = await setRoles(leaving.token, leaving.id, ['user']);
    expect(res.status).toBe(200);
    expect(res.json.roles).toEqual(['user']);
    expect(await profileStatus(leaving.token)).toBe(401);
  });
});

describe('GET /admin/queues (the job board, permission jobs:manage)', () => {
  const board = (token: string, path = '') => raw(`${stack.api.url}/admin/queues${path}`, { headers: { authorization: `Bearer ${token}` } });

  it('when an admin asks, then the page and the board API (listing the queues) are served; a moderator gets 403', async () => {
    const page = await board(admin.token);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const queues = await board(admin.token, '/api/queues');
    expect(queues.status).toBe(200);
    expect((queues.json as { queues: { name: string }[] }).queues.map((q) => q.name)).toContain('maintenance');
    const mod = await staff('moderator', 'jobmod');
    expectProblem(await board(mod.token), 403, 'forbidden');
  });

  it('when an admin loses the role while their token still says admin, then the board is 403 at once', async () => {
    const demoted = await staff('admin', 'jobdem');
    expect((await board(demoted.token, '/api/queues')).status).toBe(200);
    // Straight in the table, so no token reissue is asked for: what a token issued in the second
    // of the change, or a missed revocation, looks like. Only the account check stands.
    await db.query(`UPDATE users SET roles = ARRAY['user'] WHERE id = $1`, [demoted.id]);
    expect(await profileStatus(demoted.token)).toBe(200);
    expectProblem(await board(demoted.token), 403, 'forbidden');
    const api = await board(demoted.token, '/api/queues');
    expectProblem(api, 403, 'forbidden');
    expect(api.json.detail).toContain('jobs:manage');
  });
});

describe('moderators', () => {
  it('may list and suspend for up to 30 days, but not longer, not ban, not lift a ban, not touch staff, not assign roles (403 naming the permission)', async () => {
    const mod = await staff('moderator', 'mod');
    const user = await stack.signUp('modded');
    const banned = await stack.signUp('banned');
    await suspend(admin.token, banned.id, { kind: 'ban', reason: '사기' });

    expect((await call('GET', `/admin/users/${user.id}`, mod.token)).status).toBe(200);
    const ok = await suspend(mod.token, user.id, { kind: 'suspend', reason: '욕설', until: inFuture(30 * DAY - HOUR) });
    expect(ok.status).toBe(200);
    const [event] = await eventsOf(user.id, 'user.suspended');
    expect(event!.metadata).toMatchObject({ actor_id: mod.id });
    expect((await reinstate(mod.token, user.id)).status).toBe(200);

    const refused = [
      [await suspend(mod.token, user.id, { kind: 'suspend', reason: 'x', until: inFuture(60 * DAY) }), 'users:suspend_long'],
      [await suspend(mod.token, user.id, { kind: 'ban', reason: 'x' }), 'users:ban'],
      [await reinstate(mod.token, banned.id), 'users:ban'],
      [await suspend(mod.token, banned.id, { kind: 'suspend', reason: 'x', until: inFuture(DAY) }), 'users:ban'],
      [await suspend(mod.token, admin.id, { kind: 'suspend', reason: 'x', until: inFuture(DAY) }), 'users:manage_staff'],
      [await setRoles(mod.token, user.id, ['moderator']), 'users:assign_roles'],
      [await setRoles(mod.token, mod.id, ['admin']), 'users:assign_roles'],
    ] as const;
    for (const [res, permission] of refused) {
      expectProblem(res, 403, 'forbidden');
      expect(res.json.detail).toContain(permission);
    }
    const { rows } = await db.query(`SELECT id, status, roles FROM users WHERE id = ANY($1) ORDER BY id`, [[user.id, banned.id, admin.id, mod.id]]);
    expect(Object.fromEntries(rows.map((r) => [r.id, [r.status, r.roles]]))).toEqual({
      [user.id]: ['active', ['user']],
      [banned.id]: ['banned', ['user']],
      [admin.id]: ['active', ['user', 'admin']],
      [mod.id]: ['active', ['user', 'moderator']],
    });
  });

  it('when a moderator loses the role, then their powers end at once, even with a token that still claims it', async () => {
    const mod = await staff('moderator', 'demo');
    await db.query(`UPDATE users SET roles = '{user}' WHERE id = $1`, [mod.id]);
    const res = await call('GET', '/admin/users?limit=1', mod.token);
    expectProblem(res, 403, 'forbidden');
  });
});

/**
 * The last-admin rule needs a known number of admins, which the shared test database (never
 * truncated) cannot give, and the races below need to hold a use case between its commit and what
 * follows it: these run the use cases in-process against tables of their own, in a schema of their
 * own, on the real PostgreSQL and Redis.
 */
describe('staff changes in-process: the last active admin, a suspension racing a reinstatement', () => {
  const schema = `admins_${randomBytes(4).toString('hex')}`;
  const log = createLogger('silent', 'test');
  let sequelize: Sequelize;
  let redis: Awaited<ReturnType<typeof connectRedis>>;
  let useCases: AccountAdmin;

  beforeAll(async () => {
    await db.query(`CREATE SCHEMA ${schema};
      CREATE TABLE ${schema}.users (LIKE public.users INCLUDING ALL);
      CREATE TABLE ${schema}.sessions (LIKE public.sessions INCLUDING ALL);
      CREATE TABLE ${schema}.events (LIKE public.events INCLUDING ALL);`);
    sequelize = new Sequelize(stack.api.config.DATABASE_URL, {
      dialect: 'postgres',
      logging: false,
      pool: { max: 4, min: 0 },
      hooks: { afterConnect: async (connection) => void (await (connection as { query(sql: string): Promise<unknown> }).query(`SET search_path TO ${schema}, public`)) },
    });
    redis = await connectRedis(stack.api.config.REDIS_URL);
    useCases = accountAdminUseCases({
      sequelize,
      accounts: createAccountRepository(sequelize, personalDataCipher(stack.api.config)),
      sessions: createSessionRepository(sequelize),
      revocations: new TokenRevocations(redis, 3600, async () => false, log),
      recordEvents: eventRecorder(sequelize),
      accessTtlSeconds: 3600,
      scheduleSuspensionEnd: async () => undefined,
    });
  });
  afterAll(async () => {
    await sequelize.close();
    await closeRedis(redis);
    await db.query(`DROP SCHEMA ${schema} CASCADE`);
  });

  const cipher = () => personalDataCipher(stack.api.config);
  async function account(roles: string[], status: 'active' | 'suspended' = 'active'): Promise<string> {
    const id = `usr_${randomBytes(10).toString('hex').toUpperCase()}`;
    const email = `${id.toLowerCase()}@example.com`;
    await db.query(
      `INSERT INTO ${schema}.users (id, email_bidx, email_enc, nickname, roles, status, suspended_until) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [id, cipher().blindIndex(email, 'user.email'), cipher().encrypt(email, `user.email:${id}`), id.slice(4, 20), roles, status, status === 'suspended' ? new Date(Date.now() + DAY) : null],
    );
    return id;
  }
  const as = (userId: string) => {
    const ctx = createRequestContext(`req_${randomBytes(6).toString('hex')}`, log);
    ctx.actor = { userId, roles: ['user', 'admin'], sessionId: 'ses_test' };
    return ctx;
  };
  const activeAdmins = async () =>
    (await db.query(`SELECT id FROM ${schema}.users WHERE 'admin' = ANY(roles) AND status = 'active' ORDER BY id`)).rows.map((r: { id: string }) => r.id);

  it('when the only active admin would lose the role, then 409 last_admin (a suspended admin does not count); while another remains, it works', async () => {
    const a = await account(['user', 'admin']);
    const b = await account(['user', 'admin']);
    await account(['user', 'admin'], 'suspended');
    expect((await useCases.replaceRoles(as(a), a, ['user'])).roles).toEqual(['user']);
    await expect(useCases.replaceRoles(as(b), b, ['user', 'moderator'])).rejects.toMatchObject({ status: 409, code: 'last_admin' });
    expect(await activeAdmins()).toEqual([b]);
    const events = (await db.query(`SELECT aggregate_id, metadata FROM ${schema}.events WHERE type = 'user.roles_changed'`)).rows;
    expect(events).toEqual([{ aggregate_id: a, metadata: expect.objectContaining({ actor_id: a }) }]);
  });

  it('when two admins step down at once, then one does and the other gets 409 last_admin', async () => {
    await db.query(`UPDATE ${schema}.users SET roles = '{user}'`);
    const [a, b] = [await account(['user', 'admin']), await account(['user', 'admin'])];
    const results = await Promise.allSettled([useCases.replaceRoles(as(a), a, ['user']), useCases.replaceRoles(as(b), b, ['user'])]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { status: 409, code: 'last_admin' } });
    expect(await activeAdmins()).toHaveLength(1);
  });

  it('when two admins demote each other at once, then one wins and the other is refused as no longer admin (403), never leaving none', async () => {
    await db.query(`UPDATE ${schema}.users SET roles = '{user}'`);
    const [a, b] = [await account(['user', 'admin']), await account(['user', 'admin'])];
    const results = await Promise.allSettled([useCases.replaceRoles(as(a), b, ['user']), useCases.replaceRoles(as(b), a, ['user'])]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { status: 403, code: 'forbidden' } });
    expect(await activeAdmins()).toHaveLength(1);
  });

  it('when a suspension is placed after a reinstatement committed but before its unblock ran, then the new suspension\'s token block stays', async () => {
    const admin = await account(['user', 'admin']);
    const target = await account(['user']);
    const revocations = new TokenRevocations(redis, 3600, async () => true, log);
    // The reinstatement's unblock (after its commit) reaches Redis only when the test lets it go.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let unblocked!: Promise<void>;
    const held: TokenRevocations = Object.assign(Object.create(revocations) as TokenRevocations, {
      unblockUser: async (id: string, entry: string) => void (unblocked = gate.then(() => revocations.unblockUser(id, entry))),
    });
    const cases = accountAdminUseCases({
      sequelize,
      accounts: createAccountRepository(sequelize, cipher()),
      sessions: createSessionRepository(sequelize),
      revocations: held,
      recordEvents: eventRecorder(sequelize),
      accessTtlSeconds: 3600,
      scheduleSuspensionEnd: async () => undefined,
    });
    const tokenOfNow = () => revocations.isValid(target, 'ses_test', Math.floor(Date.now() / 1000) + 1);
    await cases.suspend(as(admin), target, { kind: 'suspend', reason: '첫 정지', until: new Date(Date.now() + DAY).toISOString() });
    expect(await tokenOfNow()).toBe(false);
    expect((await cases.reinstate(as(admin), target)).status).toBe('active');
    await cases.suspend(as(admin), target, { kind: 'suspend', reason: '두 번째 정지', until: new Date(Date.now() + DAY).toISOString() });
    release();
    await unblocked;
    expect(await tokenOfNow()).toBe(false);
    // With nothing in between, a reinstatement lifts its block.
    expect((await cases.reinstate(as(admin), target)).status).toBe('active');
    release();
    await unblocked;
    expect(await tokenOfNow()).toBe(true);
  });
});

import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAccessToken } from '../../../src/platform/http/auth';
import { expectProblem, raw, uniqueIp } from '../../support/http';
import { newPerson, startIdentityStack, type IdentityStack } from '../../support/identity';

let stack: IdentityStack;

beforeAll(async () => {
  stack = await startIdentityStack();
});
afterAll(() => stack.stop());

const post = (path: string, body: unknown, ip = uniqueIp(), token?: string) =>
  raw(`${stack.api.url}/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
const profileStatus = async (token: string) => (await raw(`${stack.api.url}/v1/users/profile`, { headers: { authorization: `Bearer ${token}` } })).status;

describe('POST /v1/auth/login', () => {
  it('when the e-mail is unknown or the password wrong, then the same 401 invalid_credentials', async () => {
    const user = await stack.signUp('login');
    const wrong = await post('/auth/login', { email: user.email, password: 'Wrong-pass1' });
    const unknown = await post('/auth/login', { email: newPerson('nobody').email, password: 'Wrong-pass1' });
    expectProblem(wrong, 401, 'invalid_credentials');
    expectProblem(unknown, 401, 'invalid_credentials');
    expect(wrong.json.detail).toBe(unknown.json.detail);
  });

  it('when an account fails 10 times from changing addresses, then it is locked (423 with Retry-After), even for the right password', async () => {
    const user = await stack.signUp('lock');
    for (let i = 0; i < 9; i += 1) expectProblem(await post('/auth/login', { email: user.email, password: `Wrong-pass${i}` }), 401, 'invalid_credentials');
    const tenth = await post('/auth/login', { email: user.email, password: 'Wrong-pass9' });
    expectProblem(tenth, 423, 'account_locked');
    expect(Number(tenth.headers.get('retry-after'))).toBeGreaterThan(800);
    expectProblem(await post('/auth/login', { email: user.email, password: user.password }), 423, 'account_locked');
  });

  it('when 30 wrong passwords for one account arrive at once from 30 addresses, then at most 10 are tried, none is a 500, and the account is locked', async () => {
    const user = await stack.signUp('burst');
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => post('/auth/login', { email: user.email, password: `Wrong-pass${i}` })));
    const statuses = answers.map((a) => a.status);
    // Each tried password is a login_failed event (concurrent ones used to collide on the
    // history's numbering: 500s); every attempt past the tenth is refused before any verifying.
    expect(statuses.every((s) => s === 401 || s === 423), statuses.join(',')).toBe(true);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(9);
    const tried = await stack.db.query(`SELECT count(*)::int AS n FROM events WHERE aggregate_type = 'user' AND aggregate_id = $1 AND type = 'user.login_failed'`, [user.id]);
    expect(tried.rows[0].n).toBeGreaterThan(0);
    expect(tried.rows[0].n).toBeLessThanOrEqual(10);
    expectProblem(await post('/auth/login', { email: user.email, password: user.password }), 423, 'account_locked');
  });

  it('when an unknown address fails 10 times, then it locks too, so a lock does not reveal accounts', async () => {
    const email = newPerson('ghost').email;
    for (let i = 0; i < 9; i += 1) await post('/auth/login', { email, password: `Wrong-pass${i}` });
    expectProblem(await post('/auth/login', { email, password: 'Wrong-pass9' }), 423, 'account_locked');
  });

  it('when one address fails 20 logins in 15 minutes, then its next attempt is 429 whatever the account, while successful sign-ins are not counted', async () => {
    const ip = uniqueIp();
    const user = await stack.signUp('nat');
    for (let i = 0; i < 25; i += 1) expect((await post('/auth/login', { email: user.email, password: user.password }, ip)).status).toBe(200);
    for (let i = 0; i < 20; i += 1) await post('/auth/login', { email: newPerson('spray').email, password: 'Wrong-pass1' }, ip);
    const res = await post('/auth/login', { email: newPerson('spray').email, password: 'Wrong-pass1' }, ip);
    expectProblem(res, 429, 'rate_limited');
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('when the account is suspended, then 403 account_suspended after the right password', async () => {
    const user = await stack.signUp('susp');
    await stack.db.query(`UPDATE users SET status = 'suspended', suspended_until = now() + interval '1 day' WHERE id = $1`, [user.id]);
    expectProblem(await post('/auth/login', { email: user.email, password: user.password }), 403, 'account_suspended');
    expectProblem(await post('/auth/login', { email: user.email, password: 'Wrong-pass1' }), 401, 'invalid_credentials');
  });
});

describe('POST /v1/auth/refresh', () => {
  it('when a refresh token is used, then a new pair comes back and the old refresh token is spent', async () => {
    const user = await stack.signUp('rot');
    const next = await post('/auth/refresh', { refresh_token: user.refreshToken });
    expect(next.status).toBe(200);
    expect(next.json.refresh_token).not.toBe(user.refreshToken);
    expect(next.json.session_id).toBe(user.sessionId);
    expect(await profileStatus(next.json.access_token as string)).toBe(200);
  });

  it('when a rotated refresh token is reused, then the whole session ends: 401 refresh_token_reused, and the newest tokens stop working', async () => {
    const user = await stack.signUp('reuse');
    const next = await post('/auth/refresh', { refresh_token: user.refreshToken });
    expectProblem(await post('/auth/refresh', { refresh_token: user.refreshToken }), 401, 'refresh_token_reused');
    expectProblem(await post('/auth/refresh', { refresh_token: next.json.refresh_token }), 401, 'invalid_refresh_token');
    expect(await profileStatus(next.json.access_token as string)).toBe(401);
    expect(await profileStatus(user.token)).toBe(401);
    const { rows } = await stack.db.query(`SELECT revoked_reason FROM sessions WHERE id = $1`, [user.sessionId]);
    expect(rows[0].revoked_reason).toBe('refresh_token_reused');
  });

  it('when two refreshes race with one token, then exactly one succeeds', async () => {
    const user = await stack.signUp('race');
    const results = await Promise.all([0, 1].map(() => post('/auth/refresh', { refresh_token: user.refreshToken })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
  });

  it('when the token is unknown, then 401 invalid_refresh_token', async () => {
    expectProblem(await post('/auth/refresh', { refresh_token: 'rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }), 401, 'invalid_refresh_token');
  });
});

describe('sessions', () => {
  it('when the user signs out, then the access and refresh tokens of the session stop at once', async () => {
    const user = await stack.signUp('out');
    expect((await post('/auth/logout', {}, uniqueIp(), user.token)).status).toBe(204);
    expect(await profileStatus(user.token)).toBe(401);
    expectProblem(await post('/auth/refresh', { refresh_token: user.refreshToken }), 401, 'invalid_refresh_token');
  });

  it('lists the devices with the current one marked, and revoking another device ends only that one', async () => {
    const user = await stack.signUp('dev');
    const phone = await stack.login(user.email, user.password);
    const client = stack.api.client({ token: user.token });
    const { data } = await client.GET('/users/me/sessions');
    expect(data!.data.map((s) => s.id).sort()).toEqual([user.sessionId, phone.session_id].sort());
    expect(data!.data.find((s) => s.current)?.id).toBe(user.sessionId);
    expect(data!.data[0]!.ip_address).toMatch(/^10\.\d+\.\d+\.\*$/);

    const del = await client.DELETE('/users/me/sessions/{session_id}', { params: { path: { session_id: phone.session_id } } });
    expect(del.response.status).toBe(204);
    expect(await profileStatus(phone.access_token)).toBe(401);
    expect(await profileStatus(user.token)).toBe(200);
  });

  it('when a sign-in would make more than 100 active sessions, then the least recently used ends, so that every live one is on the device list', async () => {
    const user = await stack.signUp('many');
    // 99 more devices, each used before the sign-up's session, the oldest an hour ago.
    await stack.db.query(
      `INSERT INTO sessions (id, user_id, device_name, ip_address, expires_at, created_at, last_used_at)
       SELECT 'ses_' || upper(substr(md5($1 || n), 1, 20)), $1, 'device ' || n, '10.0.0.1', now() + interval '7 days', now() - interval '2 hours', now() - (n || ' minutes')::interval - interval '1 minute'
         FROM generate_series(1, 99) AS n`,
      [user.id],
    );
    const oldest = ((await stack.db.query(`SELECT 'ses_' || upper(substr(md5($1 || 99), 1, 20)) AS id`, [user.id])).rows[0] as { id: string }).id;
    const phone = await stack.login(user.email, user.password);
    const client = stack.api.client({ token: user.token });
    const { data } = await client.GET('/users/me/sessions');
    const listed = data!.data.map((s) => s.id);
    expect(listed).toHaveLength(100);
    expect(listed).toContain(phone.session_id);
    expect(listed).toContain(user.sessionId);
    expect(listed).not.toContain(oldest);
    expect(data!.has_more).toBe(false);
    const ended = await stack.db.query(`SELECT revoked_reason FROM sessions WHERE id = $1`, [oldest]);
    expect(ended.rows[0]).toEqual({ revoked_reason: 'session_limit' });
    const told = await stack.db.query(`SELECT payload->>'reason' AS reason FROM events WHERE aggregate_id = $1 AND type = 'user.session_revoked' AND payload->>'session_id' = $2`, [user.id, oldest]);
    expect(told.rows).toEqual([{ reason: 'session_limit' }]);
  });

  it("when user B names user A's session, then 404 and A's session lives on (BOLA)", async () => {
    const a = await stack.signUp('bolaa');
    const b = await stack.signUp('bolab');
    const res = await stack.api.client({ token: b.token }).DELETE('/users/me/sessions/{session_id}', { params: { path: { session_id: a.sessionId } } });
    expect(res.response.status).toBe(404);
    expect(await profileStatus(a.token)).toBe(200);
  });
});

describe('access tokens', () => {
  it('when a token is tampered with, unsigned (alg none), signed with another key or expired, then 401', async () => {
    const user = await stack.signUp('jwt');
    const cfg = { secret: stack.api.config.JWT_SECRET, issuer: stack.api.config.JWT_ISSUER };
    const [h, p, s] = user.token.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, roles: ['admin'] })).toString('base64url');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
    const otherKey = jwt.sign({ sid: claims.sid, roles: [] }, 'another-secret-0123456789abcdef0123456789', { algorithm: 'HS256', subject: user.id, issuer: cfg.issuer });
    const expired = signAccessToken({ sub: user.id, sid: claims.sid, roles: [] }, cfg, -10);
    for (const token of [`${h}.${forged}.${s}`, none, otherKey, expired]) expect(await profileStatus(token)).toBe(401);
    expect(await profileStatus(user.token)).toBe(200);
  });

  it('when a validly signed token names an account that does not exist, then every use of it is a 401, never a 500', async () => {
    const cfg = { secret: stack.api.config.JWT_SECRET, issuer: stack.api.config.JWT_ISSUER };
    const ghost = signAccessToken({ sub: 'usr_0000000000GHOST00000', sid: 'ses_0000000000GHOST00000', roles: [] }, cfg);
    const send = (method: string, path: string, body?: unknown) =>
      raw(`${stack.api.url}/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${ghost}`, 'content-type': 'application/json', 'x-forwarded-for': uniqueIp() },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    expectProblem(await send('GET', '/users/profile'), 401, 'unauthenticated');
    expectProblem(await send('GET', '/users/me/two-factor'), 401, 'unauthenticated');
    expectProblem(await send('POST', '/users/me/two-factor/totp', { password: 'Sangmu-2024!' }), 401, 'unauthenticated');
    // Found by the database itself: the write's foreign key to the account.
    expectProblem(await send('POST', '/users/me/keyword-alerts', { keyword: '자전거' }), 401, 'unauthenticated');
    const alerts = await stack.db.query('SELECT count(*)::int AS n FROM keyword_alerts WHERE user_id = $1', ['usr_0000000000GHOST00000']);
    expect(alerts.rows[0].n).toBe(0);
  });
});

import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '../../../sdk';
import { expectProblem, raw, uniqueIp } from '../../support/http';
import { newPerson, startIdentityStack, STRONG_PASSWORD, type IdentityStack } from '../../support/identity';
import { waitFor } from '../../support/wait';

let stack: IdentityStack;

beforeAll(async () => {
  stack = await startIdentityStack();
});
afterAll(() => stack.stop());

const post = (path: string, body: unknown, ip = uniqueIp()) =>
  raw(`${stack.api.url}/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': ip }, body: JSON.stringify(body) });

describe('POST /v1/auth/register', () => {
  it('when a new person registers, then 202, a verification mail carries a single-use link, and the account signs in only after it is followed', async () => {
    const person = newPerson('reg');
    const res = await post('/auth/register', person);
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ object: 'registration', email: person.email, status: 'verification_sent' });

    expectProblem(await post('/auth/login', { email: person.email, password: person.password }), 403, 'email_not_verified');

    const mail = await stack.mailTo(person.email, 'identity.verify-email');
    expect(mail.subject).toContain('이메일 주소를 인증해 주세요');
    expect(mail.token).toMatch(/^vt_/);
    const verified = await post('/auth/verify-email', { token: mail.token });
    expect(verified.status).toBe(200);
    expect(verified.json).toMatchObject({ object: 'email_verification', email: person.email });
    expectProblem(await post('/auth/verify-email', { token: mail.token }), 422, 'invalid_token');

    const tokens = unwrap(await stack.api.client().POST('/auth/login', { body: { email: person.email, password: person.password } }));
    expect(tokens).toMatchObject({ object: 'session_tokens', token_type: 'Bearer', expires_in: 3600, user_id: verified.json.user_id });
  });

  it('when the address already has an account, then the answer is identical, no second account exists, and the owner is told by mail', async () => {
    const person = newPerson('dup');
    const first = await post('/auth/register', person);
    const second = await post('/auth/register', { ...person, nickname: `${person.nickname}x`, email: person.email.toUpperCase() });
    expect(second.status).toBe(first.status);
    expect(second.json).toEqual({ ...first.json, email: person.email.toUpperCase() });
    const notice = await stack.mailTo(person.email, 'identity.account-exists');
    expect(notice.text).toContain('/reset-password');
    const { rows } = await stack.db.query(`SELECT count(*)::int AS n FROM users WHERE lower(nickname) IN (lower($1), lower($2))`, [person.nickname, `${person.nickname}x`]);
    expect(rows[0].n).toBe(1);
  });

  it('when two registrations of one new address race, then both get the same 202, one account exists, and the loser is treated as any taken address (an attempt on the stream, a notice)', async () => {
    const person = newPerson('race');
    const [a, b] = await Promise.all([post('/auth/register', person), post('/auth/register', { ...person, nickname: `${person.nickname}x` })]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.json).toEqual(b.json);
    const { rows } = await stack.db.query(`SELECT id FROM users WHERE lower(nickname) IN (lower($1), lower($2))`, [person.nickname, `${person.nickname}x`]);
    expect(rows).toHaveLength(1);
    const stream = await stack.db.query(`SELECT type FROM events WHERE aggregate_type = 'user' AND aggregate_id = $1 ORDER BY aggregate_version`, [rows[0].id]);
    expect(stream.rows.map((r) => r.type)).toEqual(['user.registered', 'user.registration_attempted']);
    await stack.mailTo(person.email, 'identity.verify-email');
    await stack.mailTo(person.email, 'identity.account-exists');
  });

  it('when a taken address registers with an Idempotency-Key, then its owner is told only once the answer is stored, and a replay writes and mails nothing more', async () => {
    const owner = newPerson('idemreg');
    expect((await post('/auth/register', owner)).status).toBe(202);
    await stack.mailTo(owner.email, 'identity.verify-email');
    const key = `reg-${randomBytes(8).toString('hex')}`;
    const ask = () =>
      raw(`${stack.api.url}/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key, 'x-forwarded-for': uniqueIp() },
        body: JSON.stringify({ ...owner, nickname: `${owner.nickname}x` }),
      });
    const notices = () => stack.smtp.messages().filter((m) => m.envelope.to.includes(owner.email) && m.category === 'identity.account-exists').length;
    const attempts = async () =>
      (await stack.db.query(`SELECT count(*)::int AS n FROM events e JOIN users u ON u.id = e.aggregate_id WHERE u.nickname = $1 AND e.type = 'user.registration_attempted'`, [owner.nickname])).rows[0].n as number;

    const holder = new Client({ connectionString: stack.api.config.DATABASE_URL });
    await holder.connect();
    let answer: ReturnType<typeof ask>;
    try {
      // An uncommitted row under the same key: the request's own row waits behind it, so the
      // request has done its work but cannot commit.
      await holder.query('BEGIN');
      await holder.query(
        `INSERT INTO idempotency_keys (principal, key, method, route, fingerprint, status, body, expires_at)
         VALUES ('anonymous', $1, 'POST', '/auth/register', 'held', 202, '', now() + interval '1 hour')`,
        [key],
      );
      const holderPid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      answer = ask();
      await waitFor('the request to wait for its commit', async () => (await stack.db.query(`SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, [holderPid])).rowCount);
      // Long enough for a queued notice to be delivered (a mail arrives within ~200 ms here).
      await expect(stack.mailTo(owner.email, 'identity.account-exists', 1_500)).rejects.toThrow(/no matching message/);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    const res = await answer;
    expect(res.status).toBe(202);
    await stack.mailTo(owner.email, 'identity.account-exists');

    const replay = await ask();
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.json).toEqual(res.json);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(notices()).toBe(1);
    expect(await attempts()).toBe(1);
  });

  it('when the nickname is taken in another case, then 409 nickname_taken, whether or not the e-mail has an account', async () => {
    const owner = newPerson('nick');
    await post('/auth/register', owner);
    expectProblem(await post('/auth/register', { ...newPerson('other'), nickname: owner.nickname.toUpperCase() }), 409, 'nickname_taken');
    // The same e-mail as the owner's with the taken nickname: still 409, so the pair tells nothing about the address.
    expectProblem(await post('/auth/register', { ...owner, nickname: owner.nickname.toUpperCase() }), 409, 'nickname_taken');
  });

  it('when the nickname reads as staff, then 422 nickname_reserved', async () => {
    expectProblem(await post('/auth/register', { ...newPerson('rsv'), nickname: '중고_관리자' }), 422, 'nickname_reserved');
  });

  it.each([
    ['Password1', 'too_common'],
    ['alllowercase1', 'missing_uppercase'],
    ['NoDigitsHere', 'missing_digit'],
  ])('when the password is %s, then 422 weak_password naming %s at /password, and nothing is stored', async (password, code) => {
    const person = { ...newPerson('weak'), password };
    const res = await post('/auth/register', person);
    expectProblem(res, 422, 'weak_password');
    expect(res.json.errors).toContainEqual(expect.objectContaining({ pointer: '/password', code }));
    expect((await stack.db.query(`SELECT 1 FROM users WHERE nickname = $1`, [person.nickname])).rowCount).toBe(0);
  });

  it('when the password contains the nickname, then 422 contains_personal_info', async () => {
    const person = newPerson('pii');
    const res = await post('/auth/register', { ...person, password: `X1${person.nickname}` });
    expect(res.json.errors).toContainEqual(expect.objectContaining({ code: 'contains_personal_info' }));
  });

  it('when a request sets roles or verification flags, then 400 and nothing is stored (no mass assignment)', async () => {
    const person = newPerson('mass');
    for (const extra of [{ roles: ['admin'] }, { email_verified: true }, { identity_verified: true }]) {
      expectProblem(await post('/auth/register', { ...person, ...extra }), 400, 'validation_failed');
    }
    expect((await stack.db.query(`SELECT 1 FROM users WHERE nickname = $1`, [person.nickname])).rowCount).toBe(0);
  });

  it('when one address registers 6 times in an hour, then the 6th is 429 with Retry-After', async () => {
    const ip = uniqueIp();
    for (let i = 0; i < 5; i += 1) expect((await post('/auth/register', newPerson('burst'), ip)).status).toBe(202);
    const res = await post('/auth/register', newPerson('burst'), ip);
    expectProblem(res, 429, 'rate_limited');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('stores the e-mail and phone encrypted, with blind indexes, never in plaintext', async () => {
    const person = { ...newPerson('enc'), phone: '010-2345-6789' };
    await post('/auth/register', person);
    const { rows } = await stack.db.query(`SELECT * FROM users WHERE nickname = $1`, [person.nickname]);
    const row = rows[0];
    expect(JSON.stringify(row)).not.toContain(person.email);
    expect(JSON.stringify(row)).not.toContain('2345');
    expect(row.email_enc).toMatch(/^v1\.[A-Za-z0-9_-]+\./);
    expect(row.phone_enc).toMatch(/^v1\./);
    expect(row.email_bidx).toHaveLength(43);
  });
});

describe('password reset', () => {
  it('when a reset is asked for, then the link sets a new password, ends every session, and cannot be used twice', async () => {
    const user = await stack.signUp('reset');
    const other = await stack.login(user.email, user.password);
    expect((await post('/auth/reset-password', { email: user.email })).status).toBe(202);
    const mail = await stack.mailTo(user.email, 'identity.reset-password');
    expect(mail.token).toMatch(/^pr_/);

    expectProblem(await post('/auth/reset-password/confirm', { token: mail.token, new_password: 'password' }), 422, 'weak_password');
    const done = await post('/auth/reset-password/confirm', { token: mail.token, new_password: 'Mangwon-2026!' });
    expect(done.status).toBe(204);
    expectProblem(await post('/auth/reset-password/confirm', { token: mail.token, new_password: 'Mangwon-2027!' }), 422, 'invalid_token');

    for (const token of [user.token, other.access_token]) {
      expectProblem(await raw(`${stack.api.url}/v1/users/profile`, { headers: { authorization: `Bearer ${token}` } }), 401, 'unauthenticated');
    }
    expectProblem(await post('/auth/login', { email: user.email, password: user.password }), 401, 'invalid_credentials');
    expect((await post('/auth/login', { email: user.email, password: 'Mangwon-2026!' })).status).toBe(200);
  });

  it('when the account side of a reset is held up, then the 202 does not wait for it (its timing cannot tell known addresses), and the link follows once it runs', async () => {
    const user = await stack.signUp('slowrst');
    const db = new Client({ connectionString: stack.api.config.DATABASE_URL });
    await db.connect();
    const events = async () => (await db.query(`SELECT count(*)::int AS n FROM events WHERE aggregate_id = $1 AND type = 'user.password_reset_requested'`, [user.id])).rows[0].n as number;
    const lock = `SELECT %s(hashtextextended('events:user:' || $1::text, 0))`;
    try {
      // The lock appendEvents takes for this user's history: the reset's event waits behind it.
      await db.query(lock.replace('%s', 'pg_advisory_lock'), [user.id]);
      const answer = await Promise.race([post('/auth/reset-password', { email: user.email }), new Promise<'waited'>((r) => setTimeout(() => r('waited'), 5_000))]);
      expect(answer).not.toBe('waited');
      expect((answer as { status: number }).status).toBe(202);
      expect(await events()).toBe(0);
    } finally {
      await db.query(lock.replace('%s', 'pg_advisory_unlock'), [user.id]);
    }
    try {
      const mail = await stack.mailTo(user.email, 'identity.reset-password');
      expect(mail.token).toMatch(/^pr_/);
      expect(await events()).toBe(1);
    } finally {
      await db.end();
    }
  });

  it('when a reset is asked with an Idempotency-Key, then the link is issued once the answer is stored, and a replay issues none', async () => {
    const user = await stack.signUp('idemrst');
    const key = `rst-${user.id}`;
    const ask = () => raw(`${stack.api.url}/v1/auth/reset-password`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key, 'x-forwarded-for': uniqueIp() }, body: JSON.stringify({ email: user.email }) });
    expect((await ask()).status).toBe(202);
    const mail = await stack.mailTo(user.email, 'identity.reset-password');
    expect(mail.token).toMatch(/^pr_/);
    const replay = await ask();
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const db = new Client({ connectionString: stack.api.config.DATABASE_URL });
    await db.connect();
    try {
      await new Promise((r) => setTimeout(r, 1_000));
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM events WHERE aggregate_id = $1 AND type = 'user.password_reset_requested'`, [user.id]);
      expect(rows[0].n).toBe(1);
    } finally {
      await db.end();
    }
  });

  it('when the address has no account, then the answer is the same 202 and no mail is sent', async () => {
    const ghost = newPerson('ghost').email;
    const res = await post('/auth/reset-password', { email: ghost });
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ object: 'email_message', email: ghost });
    // Long enough for a queued job to be delivered (a verification mail arrives within ~200 ms here).
    await expect(stack.mailTo(ghost, undefined, 2_000)).rejects.toThrow(/no matching message/);
  });
});

describe('PUT /v1/users/me/password', () => {
  it('when the password changes, then the other sessions end and this one stays', async () => {
    const user = await stack.signUp('chg');
    const other = await stack.login(user.email, user.password);
    const client = stack.api.client({ token: user.token });
    const wrong = await client.PUT('/users/me/password', { body: { current_password: 'Wrong-pass1', new_password: 'Mangwon-2026!' } });
    expect(wrong.response.status).toBe(403);
    expect(wrong.error).toMatchObject({ code: 'invalid_credentials' });
    const ok = await client.PUT('/users/me/password', { body: { current_password: STRONG_PASSWORD, new_password: 'Mangwon-2026!' } });
    expect(ok.response.status).toBe(204);
    expect((await client.GET('/users/profile')).response.status).toBe(200);
    const otherClient = stack.api.client({ token: other.access_token });
    expect((await otherClient.GET('/users/profile')).response.status).toBe(401);
  });
});

describe('events', () => {
  it('records user.registered, user.email_verified and user.logged_in (with address and device), and no personal data', async () => {
    const user = await stack.signUp('evt');
    const { rows } = await stack.db.query(`SELECT type, payload FROM events WHERE aggregate_type = 'user' AND aggregate_id = $1 ORDER BY aggregate_version`, [user.id]);
    expect(rows.map((r) => r.type)).toEqual(['user.registered', 'user.email_verified', 'user.logged_in']);
    expect(rows[2].payload).toMatchObject({ user_id: user.id, session_id: user.sessionId, method: 'password', ip_address: expect.stringMatching(/^10\./) });
    expect(JSON.stringify(rows)).not.toContain(user.email);
  });
});

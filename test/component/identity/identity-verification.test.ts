import { randomInt } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeVerification, startNiceSimulator, type NiceSimulator, type SimulatedPerson } from '../../../src/integrations/identity';
import { createBlindIndexer, decodeKey } from '../../../src/platform/crypto/field-cipher';
import { koreanDate } from '../../../src/modules/users/identity-verification/domain/age';
import { expectProblem, raw } from '../../support/http';
import { startIdentityStack, type IdentityStack, type SignedUpUser } from '../../support/identity';
import { waitFor } from '../../support/wait';
import { providerEnv } from '../../support/providers';

let nice: NiceSimulator;
let stack: IdentityStack;
let db: Client;

beforeAll(async () => {
  nice = await startNiceSimulator({ port: 0 });
  // A Redis database of its own: the Bull e-mail queue lives there, and a worker of another test
  // run on the shared one would take (and send elsewhere) this run's verification mails.
  stack = await startIdentityStack(providerEnv({ nice }));
  db = new Client({ connectionString: stack.api.config.DATABASE_URL });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await stack?.stop();
  await nice?.stop();
});

/** A person the simulator has never seen: a unique phone number makes a unique CI. */
function person(birthDate = '19950314'): SimulatedPerson {
  return { name: '김민지', birthDate, gender: 'female', mobileCarrier: 'KT', phone: `010${String(randomInt(10_000_000, 99_999_999))}` };
}

/** `YYYYMMDD` of the day, in Korea, `years` years before today (+ `days`). */
function bornYearsAgo(years: number, days = 0): string {
  const [y, m, d] = koreanDate(new Date()).split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y - years, m - 1, d + days));
  return date.toISOString().slice(0, 10).replace(/-/g, '');
}

const client = (user: SignedUpUser) => stack.api.client({ token: user.token });

async function start(user: SignedUpUser) {
  const res = await client(user).POST('/users/verify');
  expect(res.response.status).toBe(201);
  return res.data!;
}

async function complete(user: SignedUpUser, verificationId: string, returned: Record<string, string>) {
  return raw(`${stack.api.url}/v1/users/verify/${verificationId}/complete`, {
    method: 'POST',
    headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(returned),
  });
}

async function userRow(id: string) {
  const { rows } = await db.query(`SELECT identity_verified_at, birth_year, ci_hash FROM users WHERE id = $1`, [id]);
  return rows[0] as { identity_verified_at: Date | null; birth_year: number | null; ci_hash: string | null };
}

const events = async (userId: string, type: string) =>
  (await db.query(`SELECT payload FROM events WHERE aggregate_type = 'user' AND aggregate_id = $1 AND type = $2`, [userId, type])).rows.map((r) => r.payload as Record<string, unknown>);

describe('POST /v1/users/verify and /complete', () => {
  it('when an adult completes the window, then the account is verified: badge on the own profile at once and on the public profile after the projection, only a keyed CI hash and the birth year kept', async () => {
    const user = await stack.signUp('idv');
    const started = await start(user);
    expect(started).toMatchObject({ object: 'identity_verification', status: 'pending', id: expect.stringMatching(/^idv_[0-9A-Z]{20}$/) });
    expect(started.auth_url!.startsWith(`${nice.url}/CheckPlusSafeModel/service.cb?`)).toBe(true);
    expect(new Date(started.expires_at).getTime()).toBeGreaterThan(Date.now());

    const who = person('19950314');
    const { redirectUrl, returned } = await completeVerification(started.auth_url!, who);
    // The window sends the browser to the web app's page for this verification.
    expect(redirectUrl.startsWith(`${stack.api.config.WEB_APP_URL}/identity-verification/${started.id}/return?`)).toBe(true);

    const res = await complete(user, started.id, returned);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ object: 'identity_verification', id: started.id, status: 'verified', completed_at: expect.any(String) });
    expect(res.json).not.toHaveProperty('auth_url');

    const profile = await client(user).GET('/users/profile');
    expect(profile.data).toMatchObject({ identity_verified: true, phone: `${who.phone.slice(0, 3)}-${who.phone.slice(3, 7)}-${who.phone.slice(7)}` });

    const row = await userRow(user.id);
    const indexer = createBlindIndexer(decodeKey(stack.api.config.BLIND_INDEX_KEY));
    expect(row.identity_verified_at).toBeInstanceOf(Date);
    expect(row.birth_year).toBe(1995);
    expect(row.ci_hash).toBe(indexer.keyedHash(nice.ciOf(who), 'user.ci'));
    const stored = JSON.stringify((await db.query(`SELECT * FROM identity_verifications WHERE id = $1`, [started.id])).rows[0]);
    expect(stored).not.toContain(nice.ciOf(who));
    expect(stored).toContain('"resume_secret_enc":null');

    const [event, ...more] = await events(user.id, 'user.verified');
    expect(more).toHaveLength(0);
    expect(event).toEqual({ user_id: user.id, verified_at: expect.any(String) });

    const viewer = stack.api.client();
    const publicView = await waitFor('the badge on the public profile', async () => {
      const r = await viewer.GET('/users/{user_id}', { params: { path: { user_id: user.id } } });
      return r.data?.identity_verified ? r.data : undefined;
    });
    expect(publicView).toMatchObject({ id: user.id, identity_verified: true });
    expect(JSON.stringify(publicView)).not.toMatch(/1995|김민지/);

    const status = await client(user).GET('/users/verify/{verification_id}', { params: { path: { verification_id: started.id } } });
    expect(status.data).toMatchObject({ status: 'verified' });

    // A verified account has nothing to start.
    const again = await raw(`${stack.api.url}/v1/users/verify`, { method: 'POST', headers: { authorization: `Bearer ${user.token}` } });
    expectProblem(again, 409, 'account_already_verified');
  });

  it('when the person is under 14 (the day before their 14th birthday), then 422 identity_verification_underage and nothing about them is stored', async () => {
    const user = await stack.signUp('young');
    const started = await start(user);
    const { returned } = await completeVerification(started.auth_url!, person(bornYearsAgo(14, 1)));
    expectProblem(await complete(user, started.id, returned), 422, 'identity_verification_underage');
    expect(await userRow(user.id)).toEqual({ identity_verified_at: null, birth_year: null, ci_hash: null });
    expect(await events(user.id, 'user.verified')).toHaveLength(0);
    const status = await client(user).GET('/users/verify/{verification_id}', { params: { path: { verification_id: started.id } } });
    expect(status.data).toMatchObject({ status: 'failed', failure_code: 'identity_verification_underage' });
    expect((await client(user).GET('/users/profile')).data?.identity_verified).toBe(false);
  });

  it('when the person turns 14 today, then the verification succeeds', async () => {
    const user = await stack.signUp('turn14');
    const started = await start(user);
    const { returned } = await completeVerification(started.auth_url!, person(bornYearsAgo(14)));
    expect((await complete(user, started.id, returned)).status).toBe(200);
  });

  it('when the same person verifies a second account, then 409 identity_already_verified and the second account stays unverified', async () => {
    const first = await stack.signUp('ci1');
    const second = await stack.signUp('ci2');
    const who = person();
    const a = await start(first);
    expect((await complete(first, a.id, (await completeVerification(a.auth_url!, who)).returned)).status).toBe(200);

    const b = await start(second);
    expectProblem(await complete(second, b.id, (await completeVerification(b.auth_url!, who)).returned), 409, 'identity_already_verified');
    expect(await userRow(second.id)).toEqual({ identity_verified_at: null, birth_year: null, ci_hash: null });
    const status = await client(second).GET('/users/verify/{verification_id}', { params: { path: { verification_id: b.id } } });
    expect(status.data).toMatchObject({ status: 'failed', failure_code: 'identity_already_verified' });
  });

  it("when another user completes or reads someone's verification, then 404, and the owner can still complete it", async () => {
    const owner = await stack.signUp('owner');
    const other = await stack.signUp('other');
    const started = await start(owner);
    const { returned } = await completeVerification(started.auth_url!, person());

    expectProblem(await complete(other, started.id, returned), 404, 'not_found');
    expectProblem(await raw(`${stack.api.url}/v1/users/verify/${started.id}`, { headers: { authorization: `Bearer ${other.token}` } }), 404, 'not_found');
    expect(await userRow(other.id)).toMatchObject({ identity_verified_at: null });

    expect((await complete(owner, started.id, returned)).status).toBe(200);
  });

  it('when a completed verification is replayed, or its result is posted to another verification, then it is refused', async () => {
    const user = await stack.signUp('replay');
    const started = await start(user);
    const { returned } = await completeVerification(started.auth_url!, person());
    expect((await complete(user, started.id, returned)).status).toBe(200);
    expectProblem(await complete(user, started.id, returned), 409, 'identity_verification_not_pending');

    // Someone holding a result cannot use it for their own verification either.
    const thief = await stack.signUp('thief');
    const own = await start(thief);
    expectProblem(await complete(thief, own.id, returned), 422, 'identity_verification_invalid');
    expect(await userRow(thief.id)).toMatchObject({ identity_verified_at: null });
    // The failed attempt used the verification up.
    expectProblem(await complete(thief, own.id, returned), 409, 'identity_verification_not_pending');
  });

  it('when enc_data was altered, then 422 identity_verification_invalid', async () => {
    const user = await stack.signUp('tamper');
    const started = await start(user);
    const { returned } = await completeVerification(started.auth_url!, person());
    const altered = { ...returned, enc_data: `${returned.enc_data.slice(0, -6)}AAAA==` };
    expectProblem(await complete(user, started.id, altered), 422, 'identity_verification_invalid');
    expect(await userRow(user.id)).toMatchObject({ identity_verified_at: null });
  });

  it('when the window sent nothing back (no enc_data), then 400 and the verification is not used up', async () => {
    const user = await stack.signUp('giveup');
    const started = await start(user);
    expectProblem(await complete(user, started.id, {}), 400, 'validation_failed');
    expectProblem(await complete(user, started.id, { enc_data: '' }), 400, 'validation_failed');
    const status = await client(user).GET('/users/verify/{verification_id}', { params: { path: { verification_id: started.id } } });
    expect(status.data).toMatchObject({ status: 'pending' });
  });

  it('when NICE answers with a server error, then 503 identity_provider_unavailable with Retry-After and nothing is kept', async () => {
    const user = await stack.signUp('nicedown');
    nice.failNext(1, 503);
    const res = await raw(`${stack.api.url}/v1/users/verify`, { method: 'POST', headers: { authorization: `Bearer ${user.token}` } });
    expectProblem(res, 503, 'identity_provider_unavailable');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await db.query(`SELECT 1 FROM identity_verifications WHERE user_id = $1`, [user.id])).rowCount).toBe(0);
  });

  it('when a user starts a sixth verification within an hour, then 429 rate_limited', async () => {
    const user = await stack.signUp('manystarts');
    for (let i = 0; i < 5; i++) await start(user);
    const res = await raw(`${stack.api.url}/v1/users/verify`, { method: 'POST', headers: { authorization: `Bearer ${user.token}` } });
    expectProblem(res, 429, 'rate_limited');
    expect((await db.query(`SELECT 1 FROM identity_verifications WHERE user_id = $1`, [user.id])).rowCount).toBe(5);
  });

  it('without a token, then 401', async () => {
    expectProblem(await raw(`${stack.api.url}/v1/users/verify`, { method: 'POST' }), 401, 'unauthenticated');
  });
});

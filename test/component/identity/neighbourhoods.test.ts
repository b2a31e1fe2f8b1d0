import { Client } from 'pg';
import type { Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseOptions } from '../../../src/config';
import { createRequireVerifiedNeighbourhood } from '../../../src/modules/neighbourhoods';
import { createSequelize } from '../../../src/platform/db/sequelize';
import { AppError } from '../../../src/platform/errors';
import { createLogger } from '../../../src/platform/logger';
import { expectProblem, raw } from '../../support/http';
import { startIdentityStack, type IdentityStack, type SignedUpUser } from '../../support/identity';

let stack: IdentityStack;
let db: Client;
let sequelize: Sequelize;
let requireVerifiedNeighbourhood: ReturnType<typeof createRequireVerifiedNeighbourhood>;

beforeAll(async () => {
  // A Redis database of its own: the Bull e-mail queue lives there, and a worker of another test
  // run on the shared one would take (and send elsewhere) this run's verification mails.
  stack = await startIdentityStack();
  db = new Client({ connectionString: stack.api.config.DATABASE_URL });
  await db.connect();
  sequelize = createSequelize(databaseOptions(stack.api.config), createLogger('silent', 'test'));
  requireVerifiedNeighbourhood = createRequireVerifiedNeighbourhood(sequelize);
});
afterAll(async () => {
  await sequelize?.close();
  await db?.end();
  await stack?.stop();
});

const TERMS = '2026-11-01';
// A few metres from the representative points of these 행정동.
const MANGWON_1 = { lat: 37.5526, lng: 126.9079, code: '1144069000' };
const YEOKSAM_1 = { lat: 37.4927, lng: 127.0353, code: '1168064000' };
const BUSAN_UJE_1 = { lat: 35.1599, lng: 129.1604, code: '2635051000' };

const url = (path: string) => `${stack.api.url}/v1${path}`;
const call = (user: SignedUpUser, method: string, path: string, body?: unknown) =>
  raw(url(path), { method, headers: { authorization: `Bearer ${user.token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
const consent = (user: SignedUpUser) => call(user, 'PUT', '/users/me/location-consent', { terms_version: TERMS });
const verify = (user: SignedUpUser, at: { lat: number; lng: number }) => call(user, 'POST', '/users/me/neighbourhoods', { lat: at.lat, lng: at.lng });
const list = async (user: SignedUpUser) => (await stack.api.client({ token: user.token }).GET('/users/me/neighbourhoods')).data!.data;
const rows = async (userId: string) => (await db.query(`SELECT * FROM user_neighbourhoods WHERE user_id = $1 ORDER BY dong_code`, [userId])).rows as Record<string, unknown>[];
const events = async (userId: string, type: string) =>
  (await db.query(`SELECT payload FROM events WHERE aggregate_type = 'user' AND aggregate_id = $1 AND type = $2 ORDER BY aggregate_version`, [userId, type])).rows.map((r) => r.payload as Record<string, unknown>);

async function consentedUser(tag: string) {
  const user = await stack.signUp(tag);
  expect((await consent(user)).status).toBe(200);
  return user;
}

async function expectNeedsNeighbourhood(userId: string) {
  const err = await requireVerifiedNeighbourhood(userId).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect(err).toMatchObject({ status: 403, code: 'neighbourhood_verification_required' });
}

describe('PUT/GET/DELETE /v1/users/me/location-consent', () => {
  it('when the user has not agreed, then verifying a neighbourhood is 403 location_consent_required and nothing is stored', async () => {
    const user = await stack.signUp('noconsent');
    expectProblem(await verify(user, MANGWON_1), 403, 'location_consent_required');
    expect(await rows(user.id)).toHaveLength(0);
    expectProblem(await call(user, 'GET', '/users/me/location-consent'), 404, 'not_found');
  });

  it('when the user agrees to the current terms, then it is recorded once (agreeing again changes nothing); older terms are 422 location_terms_outdated', async () => {
    const user = await stack.signUp('consent');
    expectProblem(await call(user, 'PUT', '/users/me/location-consent', { terms_version: '2025-01-01' }), 422, 'location_terms_outdated');
    const first = await consent(user);
    expect(first.json).toEqual({ object: 'location_consent', terms_version: TERMS, agreed_at: expect.any(String) });
    const again = await consent(user);
    expect(again.json).toEqual(first.json);
    expect((await call(user, 'GET', '/users/me/location-consent')).json).toEqual(first.json);
    expect(await events(user.id, 'user.location_consent_given')).toEqual([{ user_id: user.id, terms_version: TERMS, agreed_at: first.json.agreed_at }]);
  });

  it('when the user withdraws, then every neighbourhood is deleted, verifying needs consent again, and a second withdrawal is 404', async () => {
    const user = await consentedUser('withdraw');
    expect((await verify(user, MANGWON_1)).status).toBe(200);
    expect((await verify(user, YEOKSAM_1)).status).toBe(200);
    expect(await rows(user.id)).toHaveLength(2);

    expect((await call(user, 'DELETE', '/users/me/location-consent')).status).toBe(204);
    expect(await rows(user.id)).toHaveLength(0);
    expect(await list(user)).toEqual([]);
    expect(await events(user.id, 'user.location_consent_withdrawn')).toEqual([{ user_id: user.id, removed_dong_codes: expect.arrayContaining([MANGWON_1.code, YEOKSAM_1.code]) }]);
    expectProblem(await verify(user, MANGWON_1), 403, 'location_consent_required');
    expectProblem(await call(user, 'DELETE', '/users/me/location-consent'), 404, 'not_found');
    await expectNeedsNeighbourhood(user.id);
  });
});

describe('POST /v1/users/me/neighbourhoods', () => {
  it('when the phone is in 망원동, then it resolves to 망원제1동 for 30 days with its neighbouring dongs, and no coordinate is stored or published', async () => {
    const user = await consentedUser('mangwon');
    const res = await verify(user, MANGWON_1);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      object: 'neighbourhood',
      id: MANGWON_1.code,
      dong_code: MANGWON_1.code,
      name: '망원제1동',
      sigungu: '마포구',
      sido: '서울특별시',
      primary: true,
      active: true,
      range: 'medium',
    });
    const body = res.json as { verified_at: string; expires_at: string; neighbours: { dong_code: string; name: string; distance_meters: number }[] };
    expect(new Date(body.expires_at).getTime() - new Date(body.verified_at).getTime()).toBe(30 * 86400_000);
    expect(body.neighbours.map((n) => n.dong_code)).toContain('1144070000');
    expect(body.neighbours.map((n) => n.dong_code)).not.toContain(MANGWON_1.code);
    expect(body.neighbours.every((n) => n.distance_meters > 0 && n.distance_meters <= 3000)).toBe(true);
    const distances = body.neighbours.map((n) => n.distance_meters);
    expect(distances).toEqual([...distances].sort((a, b) => a - b));

    const stored = JSON.stringify(await rows(user.id));
    expect(stored).not.toMatch(/37\.55|126\.90/);
    const [event] = await events(user.id, 'user.neighbourhood_verified');
    expect(event).toEqual({ user_id: user.id, dong_code: MANGWON_1.code, verified_at: body.verified_at, expires_at: body.expires_at });

    await expect(requireVerifiedNeighbourhood(user.id)).resolves.toMatchObject({ dongCode: MANGWON_1.code, primary: true, active: true });
  });

  it('when retried with the same Idempotency-Key, then the stored answer is replayed and the dong is verified once', async () => {
    const user = await consentedUser('idem');
    const send = () =>
      raw(url('/users/me/neighbourhoods'), {
        method: 'POST',
        headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json', 'idempotency-key': `nb-${user.id}` },
        body: JSON.stringify({ lat: YEOKSAM_1.lat, lng: YEOKSAM_1.lng }),
      });
    const first = await send();
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ dong_code: YEOKSAM_1.code, primary: true });
    const again = await send();
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json).toEqual(first.json);
    expect(await events(user.id, 'user.neighbourhood_verified')).toHaveLength(1);
  });

  it('when the position is at sea or abroad, then 422 location_outside_service_area; an impossible latitude is 400', async () => {
    const user = await consentedUser('ocean');
    expectProblem(await verify(user, { lat: 33.0, lng: 124.0 }), 422, 'location_outside_service_area');
    expectProblem(await verify(user, { lat: 35.6812, lng: 139.7671 }), 422, 'location_outside_service_area');
    expectProblem(await verify(user, { lat: 91, lng: 127 }), 400, 'validation_failed');
    expect(await rows(user.id)).toHaveLength(0);
  });

  it('when a third dong is verified while two are active, then 409 neighbourhood_limit_reached; re-verifying a held dong renews it; after a removal the third fits', async () => {
    const user = await consentedUser('limit');
    expect((await verify(user, MANGWON_1)).status).toBe(200);
    expect((await verify(user, YEOKSAM_1)).status).toBe(200);
    expectProblem(await verify(user, BUSAN_UJE_1), 409, 'neighbourhood_limit_reached');
    expect((await rows(user.id)).map((r) => r.dong_code)).toEqual([MANGWON_1.code, YEOKSAM_1.code]);

    await db.query(`UPDATE user_neighbourhoods SET verified_at = now() - interval '10 days', expires_at = now() + interval '20 days' WHERE user_id = $1 AND dong_code = $2`, [user.id, MANGWON_1.code]);
    const renewed = await verify(user, MANGWON_1);
    expect(renewed.status).toBe(200);
    expect(new Date((renewed.json as { verified_at: string }).verified_at).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(renewed.json).toMatchObject({ primary: true });
    expect(await rows(user.id)).toHaveLength(2);

    // Removing the primary one hands primary to the other.
    expect((await call(user, 'DELETE', `/users/me/neighbourhoods/${MANGWON_1.code}`)).status).toBe(204);
    expect((await list(user)).map((n) => [n.dong_code, n.primary])).toEqual([[YEOKSAM_1.code, true]]);
    expect(await events(user.id, 'user.neighbourhood_removed')).toEqual([{ user_id: user.id, dong_code: MANGWON_1.code }]);
    const third = await verify(user, BUSAN_UJE_1);
    expect(third.status).toBe(200);
    expect(third.json).toMatchObject({ dong_code: BUSAN_UJE_1.code, primary: false });
  });

  it('when 30 days have passed, then the verification is inactive, posting is refused, and a new dong may replace the lapsed one', async () => {
    const user = await consentedUser('expiry');
    expect((await verify(user, MANGWON_1)).status).toBe(200);
    expect((await verify(user, YEOKSAM_1)).status).toBe(200);
    await db.query(`UPDATE user_neighbourhoods SET verified_at = now() - interval '31 days', expires_at = now() - interval '1 day' WHERE user_id = $1`, [user.id]);

    expect((await list(user)).map((n) => n.active)).toEqual([false, false]);
    await expectNeedsNeighbourhood(user.id);

    // Both lapsed: the new dong takes a lapsed one's place and becomes primary.
    const fresh = await verify(user, BUSAN_UJE_1);
    expect(fresh.status).toBe(200);
    expect(fresh.json).toMatchObject({ dong_code: BUSAN_UJE_1.code, active: true, primary: true });
    expect((await rows(user.id)).map((r) => r.dong_code)).toEqual([BUSAN_UJE_1.code]);
    await expect(requireVerifiedNeighbourhood(user.id)).resolves.toMatchObject({ dongCode: BUSAN_UJE_1.code });
  });

  it('without a token, then 401', async () => {
    expectProblem(await raw(url('/users/me/neighbourhoods'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lat: MANGWON_1.lat, lng: MANGWON_1.lng }) }), 401, 'unauthenticated');
  });
});

describe('PATCH and DELETE /v1/users/me/neighbourhoods/{dong_code}', () => {
  it('when the user makes the second neighbourhood primary and widens its range, then the primary moves and more neighbouring dongs are listed', async () => {
    const user = await consentedUser('patch');
    const first = await verify(user, MANGWON_1);
    const second = await verify(user, YEOKSAM_1);
    expect(second.json).toMatchObject({ primary: false });
    const mediumCount = (second.json as { neighbours: unknown[] }).neighbours.length;

    const res = await call(user, 'PATCH', `/users/me/neighbourhoods/${YEOKSAM_1.code}`, { primary: true, range: 'far' });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ dong_code: YEOKSAM_1.code, primary: true, range: 'far' });
    expect((res.json as { neighbours: unknown[] }).neighbours.length).toBeGreaterThan(mediumCount);
    expect((await list(user)).map((n) => [n.dong_code, n.primary])).toEqual([
      [YEOKSAM_1.code, true],
      [MANGWON_1.code, false],
    ]);
    expect(first.status).toBe(200);
    expectProblem(await call(user, 'PATCH', `/users/me/neighbourhoods/${YEOKSAM_1.code}`, {}), 400, 'validation_failed');
  });

  it("when another user changes or removes someone's neighbourhood, then 404 and nothing changes", async () => {
    const owner = await consentedUser('bolaown');
    const other = await consentedUser('bolaoth');
    expect((await verify(owner, MANGWON_1)).status).toBe(200);
    const before = await rows(owner.id);

    expectProblem(await call(other, 'PATCH', `/users/me/neighbourhoods/${MANGWON_1.code}`, { range: 'far' }), 404, 'not_found');
    expectProblem(await call(other, 'DELETE', `/users/me/neighbourhoods/${MANGWON_1.code}`), 404, 'not_found');
    expect(await rows(owner.id)).toEqual(before);
    expect(await list(other)).toEqual([]);
    await expectNeedsNeighbourhood(other.id);
  });
});

import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { databaseOptions } from '../../../src/config';
import { createRequireVerifiedNeighbourhood } from '../../../src/modules/neighbourhoods';
import { createDongRepository } from '../../../src/modules/neighbourhoods/data/dong-repository';
import { createNeighbourhoodRepository } from '../../../src/modules/neighbourhoods/data/neighbourhood-repository';
import { createDongResolver } from '../../../src/modules/neighbourhoods/domain/dong-resolver';
import { neighbourhoodUseCases, type NeighbourhoodUseCases } from '../../../src/modules/neighbourhoods/domain/neighbourhoods';
import type { RequestContext } from '../../../src/platform/context';
import { createSequelize } from '../../../src/platform/db/sequelize';
import { AppError } from '../../../src/platform/errors';
import { eventRecorder } from '../../../src/platform/events/event-store';
import { createLogger } from '../../../src/platform/logger';
import { expectProblem, raw, uniqueIp } from '../../support/http';
import { startIdentityStack, type IdentityStack, type SignedUpUser } from '../../support/identity';

let stack: IdentityStack;
let db: Client;
let sequelize: Sequelize;
let requireVerifiedNeighbourhood: ReturnType<typeof createRequireVerifiedNeighbourhood>;

/**
 * The use cases on the real database, with two steps that a test can hold (a transaction's pid is
 * given when one is reached): interleavings of concurrent writes are then forced, not hoped for.
 */
let useCases: NeighbourhoodUseCases;
type Step = 'recordEvents' | 'setPrimary';
let holding: { step: Step; reached: (pid: number) => void; released: Promise<void> } | null = null;
let releaseHeld: (() => void) | null = null;
// The backend pid of every query while a test records them.
let queryPids: number[] | null = null;

const pidOf = async (t: Transaction) => (await sequelize.query<{ pid: number }>('SELECT pg_backend_pid() AS pid', { type: QueryTypes.SELECT, transaction: t }))[0]!.pid;

async function passStep(step: Step, t: Transaction) {
  const hold = holding;
  if (hold?.step !== step) return;
  holding = null;
  hold.reached(await pidOf(t));
  await hold.released;
}

/** Holds the next use case that reaches `step` there, in its transaction, until `release()`. */
function hold(step: Step) {
  let reached!: (pid: number) => void;
  let release!: () => void;
  const pid = new Promise<number>((r) => (reached = r));
  holding = { step, reached, released: new Promise<void>((r) => (release = r)) };
  releaseHeld = release;
  return { pid, release };
}

beforeAll(async () => {
  // A Redis database of its own: the Bull e-mail queue lives there, and a worker of another test
  // run on the shared one would take (and send elsewhere) this run's verification mails. The pool
  // of 4 (the default) is set explicitly: the stalled-pool test counts on it.
  stack = await startIdentityStack({ DATABASE_POOL_MAX: '4' });
  db = new Client({ connectionString: stack.api.config.DATABASE_URL });
  await db.connect();
  sequelize = createSequelize(databaseOptions(stack.api.config), createLogger('silent', 'test'));
  sequelize.addHook('beforeQuery', (_options, query) => void queryPids?.push((query.connection as unknown as { processID: number }).processID));
  requireVerifiedNeighbourhood = createRequireVerifiedNeighbourhood(sequelize);
  const repository = createNeighbourhoodRepository(sequelize);
  const recordEvents = eventRecorder(sequelize);
  useCases = neighbourhoodUseCases({
    sequelize,
    neighbourhoods: {
      ...repository,
      setPrimary: async (userId, dongCode, t) => {
        await passStep('setPrimary', t);
        return repository.setPrimary(userId, dongCode, t);
      },
    },
    resolver: createDongResolver(createDongRepository(sequelize)),
    recordEvents: async (t, ...rest) => {
      await passStep('recordEvents', t);
      return recordEvents(t, ...rest);
    },
  });
});
// A failed test must not leave a use case held (its transaction open) or a hold armed for the next.
afterEach(() => {
  holding = null;
  releaseHeld?.();
  releaseHeld = null;
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

  it('when the consent is to an older version of the location terms, then verifying is 403 location_consent_required until the user agrees to the current one', async () => {
    const user = await consentedUser('oldterms');
    await db.query(`UPDATE location_consents SET terms_version = '2025-01-01' WHERE user_id = $1`, [user.id]);
    expectProblem(await verify(user, MANGWON_1), 403, 'location_consent_required');
    expect(await rows(user.id)).toHaveLength(0);

    expect((await consent(user)).status).toBe(200);
    expect((await verify(user, MANGWON_1)).status).toBe(200);
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

const requestContext = (): RequestContext => ({
  requestId: `req_${randomUUID().replace(/-/g, '')}`,
  log: createLogger('silent', 'test'),
  client: { ip: uniqueIp(), userAgent: 'vitest' },
});

/** The backends waiting, directly or through others, on locks that `root` holds. */
async function blockedBehind(root: number): Promise<Set<number>> {
  const { rows } = await db.query<{ pid: number; by: number[] }>(`SELECT pid, pg_blocking_pids(pid) AS by FROM pg_stat_activity WHERE wait_event_type = 'Lock'`);
  const behind = new Set<number>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of rows) {
      if (!behind.has(r.pid) && r.by.some((b) => b === root || behind.has(b))) {
        behind.add(r.pid);
        grew = true;
      }
    }
  }
  return behind;
}

async function untilBlockedBehind(root: number, count: number) {
  const until = Date.now() + 5_000;
  while ((await blockedBehind(root)).size < count) {
    if (Date.now() > until) throw new Error(`fewer than ${count} backends came to wait on the locks of ${root}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('locks and connections of the neighbourhood writes', () => {
  it("when a verification runs in the request transaction (Idempotency-Key), then every query it makes is on that transaction's connection", async () => {
    const user = await consentedUser('onepid');
    expect((await verify(user, MANGWON_1)).status).toBe(200);
    const ctx = requestContext();
    const pids: number[] = [];
    let transactionPid = 0;
    const view = await sequelize.transaction(async (t) => {
      transactionPid = await pidOf(t);
      ctx.transaction = t;
      queryPids = pids;
      try {
        return await useCases.verify(ctx, user.id, YEOKSAM_1);
      } finally {
        queryPids = null;
      }
    });
    expect(view).toMatchObject({ dongCode: YEOKSAM_1.code, primary: false, neighbours: expect.arrayContaining([expect.objectContaining({ dongCode: expect.any(String) })]) });
    // The consent check, the dong lookup, the locks, the writes, the event and the neighbouring dongs.
    expect(pids.length).toBeGreaterThanOrEqual(8);
    expect(new Set(pids)).toEqual(new Set([transactionPid]));
  });

  it('when a verification with an Idempotency-Key holds its locks while three PATCHes of the same user wait on them (the whole pool of 4), then it completes at once and so do they', async () => {
    const user = await consentedUser('pool');
    expect((await verify(user, MANGWON_1)).status).toBe(200);
    const holder = new Client({ connectionString: stack.api.config.DATABASE_URL });
    await holder.connect();
    try {
      // The test holds the row the verification locks after the consent, so that the verification
      // keeps the consent's lock (and its connection) while the PATCHes come to wait behind it.
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM user_neighbourhoods WHERE user_id = $1 AND dong_code = $2 FOR UPDATE', [user.id, MANGWON_1.code]);
      const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

      const started = Date.now();
      const verifying = raw(url('/users/me/neighbourhoods'), {
        method: 'POST',
        headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ lat: MANGWON_1.lat, lng: MANGWON_1.lng }),
      }).then((res) => ({ ...res, ms: Date.now() - started }));
      await untilBlockedBehind(holderPid, 1);
      const patches = (['far', 'near', 'far'] as const).map((range) => call(user, 'PATCH', `/users/me/neighbourhoods/${MANGWON_1.code}`, { range }));
      await untilBlockedBehind(holderPid, 4);
      await holder.query('COMMIT');

      const verified = await verifying;
      // Before, it waited the pool's 10 s acquire timeout for a second connection: a 500.
      expect(verified.status).toBe(200);
      expect(verified.ms).toBeLessThan(5_000);
      expect((await Promise.all(patches)).map((r) => r.status)).toEqual([200, 200, 200]);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
  });

  it('when the primary is removed while a new dong is being verified, then the new dong becomes primary', async () => {
    const user = await consentedUser('racedel');
    expect((await verify(user, MANGWON_1)).status).toBe(200);
    // The verification of a second dong stops before it commits, its locks taken and its row written.
    const held = hold('recordEvents');
    const verifying = useCases.verify(requestContext(), user.id, YEOKSAM_1);
    const verifierPid = await held.pid;
    const removing = useCases.remove(requestContext(), user.id, MANGWON_1.code);
    await untilBlockedBehind(verifierPid, 1);
    held.release();
    await expect(verifying).resolves.toMatchObject({ dongCode: YEOKSAM_1.code, primary: false });
    await removing;

    expect((await rows(user.id)).map((r) => [r.dong_code, r.is_primary])).toEqual([[YEOKSAM_1.code, true]]);
    await expect(requireVerifiedNeighbourhood(user.id)).resolves.toMatchObject({ dongCode: YEOKSAM_1.code, primary: true });
  });

  it('when the other dong is made primary while the primary one is being renewed, then both succeed (no deadlock) and the primary moves', async () => {
    const user = await consentedUser('racepatch');
    expect((await verify(user, MANGWON_1)).status).toBe(200);
    expect((await verify(user, YEOKSAM_1)).status).toBe(200);
    // The update stops with its locks taken, just before it moves the primary.
    const held = hold('setPrimary');
    const updating = useCases.update(requestContext(), user.id, YEOKSAM_1.code, { primary: true });
    const updaterPid = await held.pid;
    const renewing = useCases.verify(requestContext(), user.id, MANGWON_1);
    await untilBlockedBehind(updaterPid, 1);
    held.release();

    const settled = await Promise.allSettled([updating, renewing]);
    // Before, each held a row the other needed: 40P01 deadlock detected, a 500.
    expect(settled.map((s) => (s.status === 'rejected' ? String(s.reason) : s.status))).toEqual(['fulfilled', 'fulfilled']);
    await expect(updating).resolves.toMatchObject({ dongCode: YEOKSAM_1.code, primary: true });
    await expect(renewing).resolves.toMatchObject({ dongCode: MANGWON_1.code, primary: false });
    expect((await list(user)).map((n) => [n.dong_code, n.primary])).toEqual([
      [YEOKSAM_1.code, true],
      [MANGWON_1.code, false],
    ]);
  });
});

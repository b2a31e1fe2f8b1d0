import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import { QueryTypes, Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANDIDATES_SQL, createKeywordAlertRepository } from '../../../src/modules/engagement/data/keyword-alert-repository';
import { markDirty } from '../../../src/modules/engagement/data/like-repository';
import { createListingReader } from '../../../src/modules/engagement/data/listing-reader';
import { createSimilarityRepository } from '../../../src/modules/engagement/data/similarity-repository';
import { createViewFlushRepository } from '../../../src/modules/engagement/data/view-flush-repository';
import { ANONYMOUS_VIEWERS_PER_ADDRESS, createViewStore } from '../../../src/modules/engagement/data/view-store';
import { keywordAlertUseCases, type KeywordMatch } from '../../../src/modules/engagement/domain/keyword-alerts';
import { keywordAnchor, keywordGrams, normaliseForMatch, titleGrams } from '../../../src/modules/engagement/domain/keywords';
import { viewUseCases } from '../../../src/modules/engagement/domain/views';
import { koreanDate } from '../../../src/platform/korean-date';
import { flushViewsJob, pruneViewLedgerJob, VIEW_LEDGER_RETENTION_DAYS } from '../../../src/modules/engagement/jobs';
import { newId } from '../../../src/modules/users/domain/ids';
import { createLogger } from '../../../src/platform/logger';
import { quickAccounts } from '../../support/accounts';
import { createListing, DIGITAL, MANGWON, PHONES, categoryId, sellerWithNeighbourhood, type Seller } from '../../support/catalog';
import { expectProblem, v1Caller } from '../../support/http';
import { startEngagementStack, type EngagementStack } from '../../support/engagement';
import type { IdentityStack } from '../../support/identity';
import { waitFor } from '../../support/wait';
import { productCacheKey } from '../../../src/modules/products';

// The worker flushes views only when a test asks (so counts before a flush are known) and
// recomputes item similarity every second (so recommendations tests can poll for it).
let env: EngagementStack;
let stack: IdentityStack;
let redis: EngagementStack['redis'];
let sequelize: EngagementStack['sequelize'];
// Module-level: some describe blocks build their job contexts when collected, before beforeAll.
const log = createLogger('silent', 'test');

beforeAll(async () => {
  env = await startEngagementStack();
  ({ stack, redis, sequelize } = env);
});
afterAll(() => env?.stop());

type Json = Record<string, unknown>;
interface Caller {
  id: string;
  token: string;
}
const call = v1Caller(() => stack.api.url);
const like = (u: Caller, id: string) => call(u, 'PUT', `/products/${id}/like`);
const unlike = (u: Caller, id: string) => call(u, 'DELETE', `/products/${id}/like`);
const likeCount = async (id: string) => (await stack.db.query('SELECT like_count FROM products WHERE id = $1', [id])).rows[0]!.like_count as number;
const viewCount = async (id: string) => (await stack.db.query('SELECT view_count FROM products WHERE id = $1', [id])).rows[0]!.view_count as number;
const likeRows = async (id: string) => Number((await stack.db.query('SELECT count(*) FROM product_likes WHERE product_id = $1', [id])).rows[0]!.count);
const events = async (id: string, type: string) =>
  (await stack.db.query(`SELECT payload FROM events WHERE aggregate_type = 'product' AND aggregate_id = $1 AND type = $2 ORDER BY aggregate_version`, [id, type])).rows.map(
    (r) => r.payload as Json,
  );

/** Buyers without the sign-up ceremony (support/accounts.ts), for tests that need many people. */
const buyers = (n: number): Promise<Caller[]> => quickAccounts(stack.api.config, n, 'eng');

let seller: Seller;
let buyer: Seller;
beforeAll(async () => {
  [seller, buyer] = await Promise.all([sellerWithNeighbourhood(stack, 'engsel'), sellerWithNeighbourhood(stack, 'engbuy')]);
});

describe('PUT|DELETE /v1/products/{product_id}/like', () => {
  it('when a cached listing is liked and unliked, then the very next read of its detail shows the new count, not the cached one', async () => {
    const p = await createListing(stack, seller.token);
    const [fan] = await buyers(1);
    expect((await call(null, 'GET', `/products/${p.id}`)).json.like_count).toBe(0);
    expect(await redis.exists(productCacheKey(p.id))).toBe(1);
    expect((await like(fan!, p.id)).json.like_count).toBe(1);
    expect((await call(null, 'GET', `/products/${p.id}`)).json.like_count).toBe(1);
    expect((await unlike(fan!, p.id)).json.like_count).toBe(0);
    expect((await call(null, 'GET', `/products/${p.id}`)).json.like_count).toBe(0);
  });

  it('when a buyer likes a listing twice and unlikes it twice, then it counts once each way, with one product.liked and one product.unliked event', async () => {
    const p = await createListing(stack, seller.token);
    const first = await like(buyer, p.id);
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ object: 'product_like', product_id: p.id, liked: true, like_count: 1 });
    expect((await like(buyer, p.id)).json).toEqual({ object: 'product_like', product_id: p.id, liked: true, like_count: 1 });
    expect(await likeCount(p.id)).toBe(1);
    expect(await events(p.id, 'product.liked')).toEqual([{ product_id: p.id, user_id: buyer.id, like_count: 1 }]);

    expect((await unlike(buyer, p.id)).json).toEqual({ object: 'product_like', product_id: p.id, liked: false, like_count: 0 });
    expect((await unlike(buyer, p.id)).json).toEqual({ object: 'product_like', product_id: p.id, liked: false, like_count: 0 });
    expect(await likeCount(p.id)).toBe(0);
    expect(await events(p.id, 'product.unliked')).toEqual([{ product_id: p.id, user_id: buyer.id, like_count: 0 }]);
  });

  it('when 20 users like (each twice at once) and then half unlike while the rest like again, all concurrently, then like_count always equals the likes stored', async () => {
    const p = await createListing(stack, seller.token);
    const people = await buyers(20);
    const round1 = await Promise.all(people.flatMap((u) => [like(u, p.id), like(u, p.id)]));
    expect(round1.every((r) => r.status === 200)).toBe(true);
    expect(await likeCount(p.id)).toBe(20);
    expect(await likeRows(p.id)).toBe(20);

    const round2 = await Promise.all(people.map((u, i) => (i % 2 ? unlike(u, p.id) : like(u, p.id))));
    expect(round2.every((r) => r.status === 200)).toBe(true);
    expect(await likeCount(p.id)).toBe(10);
    expect(await likeRows(p.id)).toBe(10);
    expect((await events(p.id, 'product.liked')).length).toBe(20);
    expect((await events(p.id, 'product.unliked')).length).toBe(10);
  });

  it('when the listing is unknown, deleted, or hidden by its seller, then 404 not_found; the seller liking their own listing is 422; no token is 401', async () => {
    const hidden = await createListing(stack, seller.token);
    const deleted = await createListing(stack, seller.token);
    expect((await call(seller, 'POST', `/products/${hidden.id}/status`, { status: 'hidden' })).status).toBe(200);
    expect((await call(seller, 'DELETE', `/products/${deleted.id}`)).status).toBe(204);

    expectProblem(await like(buyer, newId('prd')), 404, 'not_found');
    expectProblem(await like(buyer, hidden.id), 404, 'not_found');
    expectProblem(await like(buyer, deleted.id), 404, 'not_found');
    expectProblem(await unlike(buyer, hidden.id), 404, 'not_found');
    expectProblem(await like(seller, deleted.id), 404, 'not_found');
    expectProblem(await like(seller, hidden.id), 422, 'cannot_like_own_listing');
    expectProblem(await call(null, 'PUT', `/products/${hidden.id}/like`), 401, 'unauthenticated');
    expect(await likeCount(hidden.id)).toBe(0);
  });

  it('when a liked listing is hidden afterwards, then it leaves the likes list and the like can still be removed', async () => {
    const p = await createListing(stack, seller.token);
    expect((await like(buyer, p.id)).status).toBe(200);
    expect((await call(seller, 'POST', `/products/${p.id}/status`, { status: 'hidden' })).status).toBe(200);
    const list = await call(buyer, 'GET', '/users/me/likes?limit=100');
    expect((list.json.data as Json[]).map((x) => x.id)).not.toContain(p.id);
    expect((await unlike(buyer, p.id)).json).toMatchObject({ liked: false, like_count: 0 });
  });
});

describe('GET /v1/users/me/likes', () => {
  it('when a user liked three listings, then pages of two come newest first with a cursor, and nobody else sees them', async () => {
    const [me, other] = await buyers(2);
    const listings = [await createListing(stack, seller.token), await createListing(stack, seller.token), await createListing(stack, seller.token)];
    for (const p of listings) expect((await like(me!, p.id)).status).toBe(200);

    const first = await call(me!, 'GET', '/users/me/likes?limit=2');
    expect(first.status).toBe(200);
    expect((first.json.data as Json[]).map((x) => x.id)).toEqual([listings[2]!.id, listings[1]!.id]);
    expect(first.json.has_more).toBe(true);
    expect(first.json.data as Json[]).toContainEqual(
      expect.objectContaining({ object: 'product', id: listings[2]!.id, title: listings[2]!.title, price: 850_000, free: false, status: 'on_sale', like_count: 1, location: expect.objectContaining({ dong_code: MANGWON.dongCode }) }),
    );
    const second = await call(me!, 'GET', `/users/me/likes?limit=2&cursor=${first.json.next_cursor as string}`);
    expect((second.json.data as Json[]).map((x) => x.id)).toEqual([listings[0]!.id]);
    expect(second.json).toMatchObject({ has_more: false, next_cursor: null });

    // BOLA: the list is the caller's own; another user's cursor does not open it either.
    expect((await call(other!, 'GET', '/users/me/likes')).json.data).toEqual([]);
    expectProblem(await call(other!, 'GET', `/users/me/likes?cursor=${first.json.next_cursor as string}`), 400, 'invalid_cursor');
    expectProblem(await call(me!, 'GET', `/users/me/likes?cursor=${(first.json.next_cursor as string).slice(0, -2)}AA`), 400, 'invalid_cursor');
    expectProblem(await call(null, 'GET', '/users/me/likes'), 401, 'unauthenticated');
    // Someone else's unlike never touches my like.
    expect((await unlike(other!, listings[0]!.id)).json).toMatchObject({ liked: false, like_count: 1 });
  });

  it('when a listing is hidden after a list picked its id, then its summary is left out, not shown on sale', async () => {
    const p = await createListing(stack, seller.token);
    expect((await call(seller, 'POST', `/products/${p.id}/status`, { status: 'hidden' })).status).toBe(200);
    // What likes, similar listings and recommendations read once their ids are chosen.
    const reader = createListingReader(sequelize);
    expect([...(await reader.summaries([p.id])).keys()]).toEqual([]);
    expect((await reader.summaries([p.id], { listedOnly: false })).get(p.id)).toMatchObject({ id: p.id, status: 'hidden' });
  });
});

describe('views', () => {
  const viewsFor = () => viewUseCases({ store: createViewStore(redis, stack.api.config.QUEUE_PREFIX), flushes: createViewFlushRepository(sequelize) });
  const ctxOf = (userId: string | undefined, ip: string, userAgent: string) => ({
    ...(userId ? { actor: { userId, roles: ['user'], sessionId: 'ses_test' } } : {}),
    client: { ip, userAgent },
    log,
  });
  const job = { jobId: 'engagement.flush-views|test', attempt: 1, log, signal: new AbortController().signal };

  it('when the same viewer opens a listing again the same day, then it counts once; other viewers count; the seller never; nothing reaches the table before the flush', async () => {
    const views = viewsFor();
    const p = await createListing(stack, seller.token);
    for (let i = 0; i < 3; i++) await views.recordView(ctxOf(buyer.id, '10.0.0.1', 'ua-1'), p.id, { sellerId: seller.id });
    await views.recordView(ctxOf(undefined, '10.9.9.9', 'Safari'), p.id, { sellerId: seller.id });
    await views.recordView(ctxOf(undefined, '10.9.9.9', 'Safari'), p.id, { sellerId: seller.id });
    await views.recordView(ctxOf(undefined, '10.9.9.9', 'Chrome'), p.id, { sellerId: seller.id });
    await views.recordView(ctxOf(seller.id, '10.0.0.2', 'ua-2'), p.id, { sellerId: seller.id });
    expect(await viewCount(p.id)).toBe(0);

    await flushViewsJob(views).handle({}, job);
    expect(await viewCount(p.id)).toBe(3);
    const coview = await stack.db.query('SELECT viewed_on FROM product_views WHERE user_id = $1 AND product_id = $2', [buyer.id, p.id]);
    expect(coview.rows).toHaveLength(1);

    // The next Korean day the same viewer counts again.
    const store = createViewStore(redis, stack.api.config.QUEUE_PREFIX);
    expect(await store.record(koreanDate(), p.id, { key: `u:${buyer.id}`, userId: buyer.id })).toBe(false);
    expect(await store.record(koreanDate(new Date(Date.now() + 86_400_000)), p.id, { key: `u:${buyer.id}`, userId: buyer.id })).toBe(true);
    await flushViewsJob(views).handle({}, job);
    expect(await viewCount(p.id)).toBe(4);
  });

  it('when the daily prune runs, then ledger rows of batches applied more than the retention ago go and recent ones stay', async () => {
    const [old, recent] = [`vb_old_${randomBytes(4).toString('hex')}`, `vb_new_${randomBytes(4).toString('hex')}`];
    await stack.db.query(`INSERT INTO view_count_flushes (batch_id, applied_at) VALUES ($1, now() - make_interval(days => $3 + 1)), ($2, now() - interval '1 day')`, [old, recent, VIEW_LEDGER_RETENTION_DAYS]);
    await pruneViewLedgerJob(createViewFlushRepository(sequelize)).handle({ retention_days: VIEW_LEDGER_RETENTION_DAYS }, { ...job, jobId: 'engagement.prune-view-ledger|test' });
    const left = (await stack.db.query('SELECT batch_id FROM view_count_flushes WHERE batch_id = ANY($1)', [[old, recent]])).rows.map((r) => r.batch_id as string);
    expect(left).toEqual([recent]);
  });

  it('when one address opens a listing under ever new user agents, then at most a few anonymous views count for it that day; other addresses and signed-in viewers still count', async () => {
    const views = viewsFor();
    const p = await createListing(stack, seller.token);
    for (let i = 0; i < 20; i++) await views.recordView(ctxOf(undefined, '10.7.7.7', `bot-${i}`), p.id, { sellerId: seller.id });
    // IPv6: addresses of one /56 (what one subscriber gets) are one address.
    for (let i = 0; i < 20; i++) await views.recordView(ctxOf(undefined, `2001:db8:1:${i.toString(16)}::1`, 'bot'), p.id, { sellerId: seller.id });
    await views.recordView(ctxOf(undefined, '10.7.7.8', 'bot-0'), p.id, { sellerId: seller.id });
    await views.recordView(ctxOf(buyer.id, '10.7.7.7', 'bot-99'), p.id, { sellerId: seller.id });
    await flushViewsJob(views).handle({}, job);
    expect(await viewCount(p.id)).toBe(2 * ANONYMOUS_VIEWERS_PER_ADDRESS + 2);
  });

  it('when the flush runs twice at once, or again after a run that applied its batch but died before dropping it, then every view is added exactly once', async () => {
    const views = viewsFor();
    const store = createViewStore(redis, stack.api.config.QUEUE_PREFIX);
    const p = await createListing(stack, seller.token);
    for (let i = 0; i < 5; i++) await views.recordView(ctxOf(undefined, `10.1.1.${i}`, 'ua'), p.id);
    await Promise.all([flushViewsJob(views).handle({}, job), flushViewsJob(views).handle({}, job)]);
    expect(await viewCount(p.id)).toBe(5);

    // A run that claimed and applied a batch, then crashed before dropping it from Redis.
    for (let i = 0; i < 4; i++) await views.recordView(ctxOf(undefined, `10.2.2.${i}`, 'ua'), p.id);
    const batch = (await store.claim())!;
    expect(await createViewFlushRepository(sequelize).apply(await store.read(batch))).toBe(true);
    expect(await viewCount(p.id)).toBe(9);
    expect(await store.batches()).toContain(batch);
    const retry = await views.flush(log);
    expect(retry.applied).toBe(0);
    expect(await viewCount(p.id)).toBe(9);
    expect(await store.batches()).not.toContain(batch);
  });
});

describe('keyword alerts', () => {
  const alerts = (u: Caller) => call(u, 'GET', '/users/me/keyword-alerts');
  const save = (u: Caller, body: Json) => call(u, 'POST', '/users/me/keyword-alerts', body);
  const notificationsOf = async (u: Caller) => (await call(u, 'GET', '/users/me/notifications?limit=100')).json.data as Json[];
  const matchesOf = async (productId: string) =>
    (await stack.db.query('SELECT user_id FROM keyword_alert_matches WHERE product_id = $1 ORDER BY user_id', [productId])).rows.map((r) => r.user_id as string);
  const notifiedFor = async (u: Caller, productId: string) => (await notificationsOf(u)).filter((n) => (n.keyword_alert as Json | undefined)?.product_id === productId);

  it('when a user saves keywords, then they are normalised and listed; the 31st is 409, a duplicate 409, an empty keyword or unknown scope 422; only the owner deletes', async () => {
    const [me, other] = await buyers(2);
    const made = await save(me!, { keyword: '  iPhone-14  ', category_id: DIGITAL });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ object: 'keyword_alert', keyword: 'iphone 14', category_id: DIGITAL, id: expect.stringMatching(/^kwa_/) });
    expectProblem(await save(me!, { keyword: 'IPHONE 14', category_id: DIGITAL }), 409, 'keyword_alert_exists');
    const symbols = await save(me!, { keyword: '!!!' });
    expectProblem(symbols, 422, 'invalid_keyword');
    expect(symbols.json.detail).toContain('letter or digit');
    // 20 characters as typed, 40 once normalised (㎏ is kg): the detail says which rule it broke.
    const expanded = await save(me!, { keyword: '㎏'.repeat(20) });
    expectProblem(expanded, 422, 'invalid_keyword');
    expect(expanded.json.detail).toContain('at most 30 characters once normalised');
    // A keyword of single characters would match nearly every title.
    for (const keyword of ['1', 'a', '이', '책 a 2']) {
      const short = await save(me!, { keyword });
      expectProblem(short, 422, 'invalid_keyword');
      expect(short.json.detail).toContain('at least 2 letters or digits');
    }
    expectProblem(await save(me!, { keyword: '자전거', category_id: categoryId('no-such') }), 422, 'unknown_category');
    expectProblem(await save(me!, { keyword: '자전거', dong_code: '9999999999' }), 422, 'unknown_dong');
    expectProblem(await save(me!, { keyword: '자전거', seller_id: me!.id }), 400, 'validation_failed');
    expectProblem(await save(me!, { keyword: '\x7F' }), 400, 'validation_failed');
    expectProblem(await save(me!, { keyword: '자전\x02거' }), 400, 'validation_failed');
    for (let i = 1; i < 30; i++) expect((await save(me!, { keyword: `키워드${i}` })).status).toBe(201);
    expectProblem(await save(me!, { keyword: '하나더' }), 409, 'keyword_alert_limit_reached');
    const listed = await alerts(me!);
    expect((listed.json.data as Json[]).length).toBe(30);
    expect(listed.json).toMatchObject({ has_more: false, next_cursor: null });

    const id = made.json.id as string;
    expectProblem(await call(other!, 'DELETE', `/users/me/keyword-alerts/${id}`), 404, 'not_found');
    expect((await alerts(other!)).json.data).toEqual([]);
    expect((await call(me!, 'DELETE', `/users/me/keyword-alerts/${id}`)).status).toBe(204);
    expectProblem(await call(me!, 'DELETE', `/users/me/keyword-alerts/${id}`), 404, 'not_found');
    expect((await save(me!, { keyword: '하나더' })).status).toBe(201);
  });

  it('when a listing titled 미니벨로 자전거 팝니다 is posted, then the users who saved 자전거 are notified once, not the seller, not other keywords; a bump or a redelivery notifies nobody again', async () => {
    const [fan, bystander] = await buyers(2);
    expect((await save(fan!, { keyword: '자전거' })).status).toBe(201);
    expect((await save(bystander!, { keyword: '냉장고' })).status).toBe(201);
    expect((await save(seller, { keyword: '자전거' })).status).toBe(201);
    const p = await createListing(stack, seller.token, { title: `미니벨로 자전거 팝니다 ${randomBytes(3).toString('hex')}`, price: 120_000 });

    const [note] = await waitFor('the keyword notification', async () => {
      const n = await notifiedFor(fan!, p.id);
      return n.length ? n : null;
    });
    expect(note).toMatchObject({ object: 'notification', kind: 'keyword_alert', read: false, keyword_alert: { keyword: '자전거', product_id: p.id, title: p.title, price: 120_000 } });
    // Earlier runs' fans of 자전거 match too (the database is shared); these three are what matter.
    // The notification job is queued inside the matching transaction (at least once, deduplicated),
    // so it can finish before that transaction commits the match: wait for the commit.
    await waitFor('the match committed', async () => (await matchesOf(p.id)).includes(fan!.id));
    expect(await matchesOf(p.id)).toContain(fan!.id);
    expect(await matchesOf(p.id)).not.toContain(seller.id);
    expect(await matchesOf(p.id)).not.toContain(bystander!.id);
    expect(await notifiedFor(seller, p.id)).toEqual([]);
    expect(await notifiedFor(bystander!, p.id)).toEqual([]);

    // Bumped a day later: the match is recorded already, so nothing is queued again.
    await stack.db.query('UPDATE products SET bumped_at = now() - interval \'25 hours\' WHERE id = $1', [p.id]);
    expect((await call(seller, 'POST', `/products/${p.id}/bump`, {})).status).toBe(200);
    await waitFor('the bump to be handled', async () => {
      const { rows } = await stack.db.query(
        `SELECT 1 FROM inbox i JOIN events e ON e.id = i.event_id WHERE i.subscriber = 'engagement.keyword-alerts' AND e.aggregate_id = $1 AND e.type = 'product.bumped'`,
        [p.id],
      );
      return rows.length > 0;
    });
    // A redelivered event (the inbox aside) finds the match as well.
    const queued: KeywordMatch[] = [];
    const again = keywordAlertUseCases({ sequelize, alerts: createKeywordAlertRepository(sequelize), notify: async (m) => void queued.push(m) });
    expect(await sequelize.transaction((t) => again.matchListing(p.id, 'evt_redelivered', t, log))).toBe(0);
    expect(queued).toEqual([]);
    expect(await notifiedFor(fan!, p.id)).toHaveLength(1);
  });

  it('when a keyword is spaced otherwise than the title (아이폰14, 아이폰 14 프로), then it matches as search does; a two-character word still stays within a word', async () => {
    const tag = randomBytes(3).toString('hex');
    const [compact, pairAcross] = await buyers(2);
    expect((await save(compact!, { keyword: `아이폰14${tag}` })).status).toBe(201);
    // 폰1 spans the space of "아이폰 14": two characters match within a word only.
    expect((await save(pairAcross!, { keyword: `폰1 ${tag}` })).status).toBe(201);
    const p = await createListing(stack, seller.token, { title: `아이폰 14 ${tag} 프로 256GB`, price: 800_000 });
    const [note] = await waitFor('the keyword notification', async () => {
      const n = await notifiedFor(compact!, p.id);
      return n.length ? n : null;
    });
    expect(note).toMatchObject({ kind: 'keyword_alert', keyword_alert: { keyword: `아이폰14${tag}`, product_id: p.id } });
    await waitFor('the match committed', async () => (await matchesOf(p.id)).includes(compact!.id));
    expect(await matchesOf(p.id)).not.toContain(pairAcross!.id);
  });

  it('when alerts are scoped, then a category matches its sub-categories only and a dong matches listings within 3 km only', async () => {
    const [inDigital, inTablets, nearby, faraway] = await buyers(4);
    const far = (await stack.db.query(`SELECT code FROM dongs WHERE sido LIKE '부산%' LIMIT 1`)).rows[0]!.code as string;
    const kw = `갤럭시${randomBytes(2).toString('hex')}`;
    expect((await save(inDigital!, { keyword: kw, category_id: DIGITAL })).status).toBe(201);
    expect((await save(inTablets!, { keyword: kw, category_id: categoryId('digital/tablets') })).status).toBe(201);
    expect((await save(nearby!, { keyword: kw, dong_code: MANGWON.dongCode })).status).toBe(201);
    expect((await save(faraway!, { keyword: kw, dong_code: far })).status).toBe(201);
    const p = await createListing(stack, seller.token, { title: `${kw} S23 울트라`, category_id: PHONES });
    const expected = [inDigital!.id, nearby!.id].sort();
    // Only this test's four users are judged: alerts other files (the fuzzer's) left in the shared database may match too.
    const mine = new Set([inDigital!.id, inTablets!.id, nearby!.id, faraway!.id]);
    await waitFor('the scoped matches', async () => JSON.stringify((await matchesOf(p.id)).filter((id) => mine.has(id))) === JSON.stringify(expected));
    await waitFor('the notifications', async () => (await notifiedFor(nearby!, p.id)).length === 1 && (await notifiedFor(inDigital!, p.id)).length === 1);
    expect(await notifiedFor(inTablets!, p.id)).toEqual([]);
    expect(await notifiedFor(faraway!, p.id)).toEqual([]);
  });

  it('when 5,000 alerts exist, then a listing finds its one subscriber through the gram index (EXPLAIN: no scan of keyword_alerts) and only that user is notified', async () => {
    const [target, ...people] = await buyers(26);
    const syllables = '가나다라마바사아자차카타파하거너더러머버서어저처커터퍼허고노도로모보소오조초코토포호';
    const word = () => Array.from({ length: 4 }, () => syllables[Math.floor(Math.random() * syllables.length)]).join('');
    // Straight into the table (the API's 30-per-user limit would need 170 users).
    const rows = people.flatMap((u) => Array.from({ length: 200 }, () => ({ user: u.id, keyword: `${word()} ${randomBytes(2).toString('hex')}` })));
    await stack.db.query(
      `INSERT INTO keyword_alerts (id, user_id, keyword, grams, anchor)
       SELECT 'kwa_' || upper(substr(md5(random()::text), 1, 20)), k.user_id, k.keyword, ARRAY(SELECT jsonb_array_elements_text(k.grams::jsonb)), k.anchor
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS k(user_id, keyword, grams, anchor)
       ON CONFLICT DO NOTHING`,
      [rows.map((r) => r.user), rows.map((r) => r.keyword), rows.map((r) => JSON.stringify(keywordGrams(r.keyword))), rows.map((r) => keywordAnchor(r.keyword))],
    );
    await stack.db.query('ANALYZE keyword_alerts');
    const kw = `캠핑의자${randomBytes(2).toString('hex')}`;
    expect((await save(target!, { keyword: kw })).status).toBe(201);

    const title = `${kw} 2개 일괄 판매합니다`;
    const grams = titleGrams(normaliseForMatch(title));
    const { rows: plan } = await stack.db.query(`EXPLAIN (FORMAT JSON) ${CANDIDATES_SQL}`, [grams, seller.id, [PHONES, DIGITAL], [MANGWON.dongCode], null]);
    const text = JSON.stringify(plan);
    expect(text).toContain('keyword_alerts_anchor');
    expect(text).not.toMatch(/Seq Scan[^}]*"Relation Name":"keyword_alerts"/);

    const p = await createListing(stack, seller.token, { title });
    // The database is shared with other tests and runs (the fuzzer saves alerts too): judge only this test's people.
    const ours = new Set([target!, ...people].map((u) => u.id));
    const ourMatches = async () => (await matchesOf(p.id)).filter((id) => ours.has(id));
    await waitFor('the one match', async () => (await ourMatches()).length > 0);
    expect(await ourMatches()).toEqual([target!.id]);
    await waitFor('the notification', async () => (await notifiedFor(target!, p.id)).length === 1);
  });
});

describe('recommendations', () => {
  it('when a worker dies holding claimed dirty items, then a later run takes them again; an item marked again while claimed stays on the list after that recompute, and only its own claimer releases or removes it', async () => {
    // The dirty list in a schema of its own: the workers of this and other files take items off
    // the shared one every second. Everything else the recompute reads and writes is the real one.
    const schema = `sim_t_${randomBytes(4).toString('hex')}`;
    await sequelize.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.similarity_dirty_items (LIKE public.similarity_dirty_items INCLUDING ALL)`);
    const scoped = new Sequelize(stack.api.config.DATABASE_URL, { logging: false, hooks: { afterConnect: async (c) => void (await (c as unknown as Client).query(`SET search_path TO ${schema}, public`)) } });
    try {
      const repo = createSimilarityRepository(scoped);
      const ids = [await createListing(stack, seller.token), await createListing(stack, seller.token), await createListing(stack, seller.token)].map((p) => p.id).sort();
      const b = ids[1]!;
      const listed = async () => (await scoped.query<{ product_id: string; claimed: boolean }>('SELECT product_id, claimed_at IS NOT NULL AS claimed FROM similarity_dirty_items ORDER BY product_id', { type: QueryTypes.SELECT }));
      await scoped.transaction((t) => markDirty(scoped, ids, t));

      const first = await repo.claimDirty(10);
      expect([...first.ids].sort()).toEqual(ids);
      expect((await repo.claimDirty(10)).ids).toEqual([]);
      // The claimer died: once its claim is stale, the items are taken again, under a new claim.
      const second = await repo.claimDirty(10, 0);
      expect([...second.ids].sort()).toEqual(ids);
      // A like while they are claimed marks one again; a run claims it anew.
      await scoped.transaction((t) => markDirty(scoped, [b], t));
      expect((await listed()).find((r) => r.product_id === b)!.claimed).toBe(false);
      const third = await repo.claimDirty(10);
      expect(third.ids).toEqual([b]);
      // The dead claimer's late release gives back nothing that is no longer its own.
      await repo.release(first);
      expect((await listed()).every((r) => r.claimed)).toBe(true);
      // The second run's recompute takes its items off the list, not the one claimed since by
      // the third (retried while a worker holds the lock)…
      await waitFor('the recompute', () => repo.recompute(second));
      expect(await listed()).toEqual([{ product_id: b, claimed: true }]);
      // …which, failing, gives it back: claimable again at once.
      await repo.release(third);
      expect((await repo.claimDirty(10)).ids).toEqual([b]);
    } finally {
      await scoped.close();
      await sequelize.query(`DROP SCHEMA ${schema} CASCADE`);
    }
  });

  it('when users like the same pairs of listings, then each is similar to the other (most co-liked first), and a liker is recommended the co-liked ones; one person\'s pairs are never shown', async () => {
    const [x, y, z, w] = [await createListing(stack, seller.token), await createListing(stack, seller.token), await createListing(stack, seller.token), await createListing(stack, seller.token)];
    const people = await buyers(8);
    // x+y by four people, x+z by three, x+w by one (what only one person did is theirs alone).
    for (const u of people.slice(0, 4)) for (const p of [x, y]) expect((await like(u, p.id)).status).toBe(200);
    for (const u of people.slice(4, 7)) for (const p of [x, z]) expect((await like(u, p.id)).status).toBe(200);
    for (const p of [x, w]) expect((await like(people[7]!, p.id)).status).toBe(200);
    // Every like above is in the model once none of the four waits for a recompute any more.
    await waitFor(
      'the recompute after the last like',
      async () => (await stack.db.query('SELECT count(*)::int AS n FROM similarity_dirty_items WHERE product_id = ANY($1)', [[x.id, y.id, z.id, w.id]])).rows[0].n === 0,
      15_000,
    );

    const similar = await waitFor(
      'item similarity',
      async () => {
        const res = await call(null, 'GET', `/products/${x.id}/similar?limit=5`);
        const ids = (res.json.data as Json[]).map((p) => p.id);
        return ids[0] === y.id && ids[1] === z.id ? res : null;
      },
      15_000,
    );
    expect(similar.json).toMatchObject({ object: 'list', has_more: false, next_cursor: null });
    expect((await call(null, 'GET', `/products/${y.id}/similar?limit=5`)).json.data).toContainEqual(expect.objectContaining({ id: x.id }));
    // w's only link to x is one person: the model holds no such pair (what `similar` shows after
    // the neighbours is the popular-in-category fallback, which w may be part of as any listing).
    const pairs = await stack.db.query('SELECT product_id, similar_id FROM item_similarity WHERE product_id = ANY($1) ORDER BY score DESC', [[x.id, w.id]]);
    expect(pairs.rows.filter((r) => r.product_id === x.id).map((r) => r.similar_id)).toEqual([y.id, z.id]);
    expect(pairs.rows.filter((r) => r.product_id === w.id)).toEqual([]);

    // people[4] liked x and z: y (co-liked with x by four others) is recommended; what they liked is not.
    const recs = await call(people[4]!, 'GET', '/users/me/recommendations?limit=10');
    const ids = (recs.json.data as Json[]).map((p) => p.id);
    expect(ids[0]).toBe(y.id);
    expect(ids).not.toContain(x.id);
    expect(ids).not.toContain(z.id);

    // The seller is never recommended their own listings.
    expect((await call(seller, 'GET', `/products/${x.id}/similar`)).json.data).not.toContainEqual(expect.objectContaining({ id: y.id }));

    // A suspended seller's listings are not promoted (read-time: they come back with the seller).
    const promoted = async () => [
      ...((await call(null, 'GET', `/products/${x.id}/similar?limit=10`)).json.data as Json[]),
      ...((await call(people[4]!, 'GET', '/users/me/recommendations?limit=10')).json.data as Json[]),
    ].map((p) => p.id);
    await stack.db.query(`UPDATE users SET status = 'suspended', suspended_until = now() + interval '1 day' WHERE id = $1`, [seller.id]);
    try {
      const whileSuspended = await promoted();
      for (const p of [y, z, w]) expect(whileSuspended).not.toContain(p.id);
    } finally {
      await stack.db.query(`UPDATE users SET status = 'active', suspended_until = NULL WHERE id = $1`, [seller.id]);
    }
    expect(await promoted()).toContain(y.id);
  });

  it('when a new user with a verified neighbourhood asks, then popular listings near them come, most popular first, never their own', async () => {
    const newcomer = await sellerWithNeighbourhood(stack, 'engnew');
    const own = await createListing(stack, newcomer.token);
    const hot = await createListing(stack, seller.token);
    // Views arrive through the flush in production; outranking every listing of earlier runs
    // (the database is shared) here makes the ranking certain.
    const top = Number((await stack.db.query('SELECT max(like_count * 3 + view_count) AS m FROM products')).rows[0]!.m);
    await stack.db.query('UPDATE products SET view_count = $2 WHERE id = $1', [hot.id, top + 1000]);
    await stack.db.query('UPDATE products SET view_count = $2 WHERE id = $1', [own.id, top + 2000]);
    // The popular lists are shared for a minute: one read before these changes (this file's last
    // run, another file) would not have them yet.
    await env.refreshPopularLists();

    const res = await call(newcomer, 'GET', '/users/me/recommendations?limit=20');
    expect(res.status).toBe(200);
    const data = res.json.data as Json[];
    expect(data[0]).toMatchObject({ id: hot.id, object: 'product', status: 'on_sale' });
    expect(data.map((p) => p.id)).not.toContain(own.id);
    const { rows } = await stack.db.query('SELECT id, like_count * 3 + view_count AS pop FROM products WHERE id = ANY($1)', [data.map((p) => p.id)]);
    const pop = new Map(rows.map((r) => [r.id as string, Number(r.pop)]));
    const scores = data.map((p) => pop.get(p.id as string)!);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    const near = await stack.db.query(
      `SELECT d.code FROM dongs c JOIN dongs d ON earth_distance(ll_to_earth(c.lat, c.lng), ll_to_earth(d.lat, d.lng)) <= 3000 WHERE c.code = $1`,
      [MANGWON.dongCode],
    );
    const neighbourhood = new Set(near.rows.map((r) => r.code as string));
    expect(data.every((p) => neighbourhood.has((p.location as Json).dong_code as string))).toBe(true);
  });

  it('when a seller marks listings sold to named buyers, then only a buyer who liked or viewed the listing gets a purchase: a stranger named gets none', async () => {
    const [stranger, liker] = await buyers(2);
    const [toStranger, toLiker] = [await createListing(stack, seller.token), await createListing(stack, seller.token)];
    expect((await like(liker!, toLiker.id)).status).toBeLessThan(300);
    for (const [listing, who] of [[toStranger, stranger], [toLiker, liker]] as const) {
      expect((await call(seller, 'POST', `/products/${listing.id}/status`, { status: 'sold', buyer_id: who!.id })).status).toBe(200);
    }
    const handled = (id: string) =>
      stack.db
        .query(`SELECT 1 FROM inbox i JOIN events e ON e.id = i.event_id WHERE i.subscriber = 'engagement.purchases' AND e.aggregate_id = $1 AND e.type = 'product.status_changed'`, [id])
        .then((r) => (r.rowCount ?? 0) > 0);
    await waitFor('both sales handled', async () => (await handled(toStranger.id)) && (await handled(toLiker.id)));
    const purchases = await stack.db.query('SELECT user_id, product_id FROM product_purchases WHERE product_id = ANY($1) ORDER BY user_id', [[toStranger.id, toLiker.id]]);
    expect(purchases.rows).toEqual([{ user_id: liker!.id, product_id: toLiker.id }]);
  });

  it('when the listing is hidden or unknown, then similar is 404 for others', async () => {
    const p = await createListing(stack, seller.token);
    expect((await call(seller, 'POST', `/products/${p.id}/status`, { status: 'hidden' })).status).toBe(200);
    expectProblem(await call(buyer, 'GET', `/products/${p.id}/similar`), 404, 'not_found');
    expectProblem(await call(null, 'GET', `/products/${newId('prd')}/similar`), 404, 'not_found');
    expect((await call(seller, 'GET', `/products/${p.id}/similar`)).status).toBe(200);
  });
});

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantRole } from '../../../src/cli/grant-role';
import { activityLogProjection, type ActivityLogEntry } from '../../../src/modules/activity/activity-log.projection';
import { createDocumentStore } from '../../../src/platform/documents';
import type { DocumentStore } from '../../../src/platform/documents/document-store';
import { createLogger } from '../../../src/platform/logger';
import { createListing, sellerWithNeighbourhood, type Seller } from '../../support/catalog';
import { expectProblem, raw, v1Caller } from '../../support/http';
import { startIdentityStack, type IdentityStack, type SignedUpUser } from '../../support/identity';
import { waitFor } from '../../support/wait';

// The review queue of flagged listings (listFlaggedProducts, reviewFlaggedProduct).

let stack: IdentityStack;
let seller: Seller;
let moderator: SignedUpUser;
let fan: SignedUpUser;
let store: DocumentStore;

type Json = Record<string, unknown>;
const FLAGGED_TEXT = '궁금하신 점은 카톡 아이디 mangwon77 로 연락주세요';

beforeAll(async () => {
  stack = await startIdentityStack();
  store = await createDocumentStore({ databaseUrl: stack.api.config.DATABASE_URL, mongodbUrl: stack.api.config.MONGODB_URL, log: createLogger('silent', 'test') });
  seller = await sellerWithNeighbourhood(stack, 'rvseller');
  fan = await stack.signUp('rvfan');
  const mod = await stack.signUp('rvmod');
  await grantRole(mod.email, 'moderator', stack.api.config);
  const t = await stack.login(mod.email, mod.password);
  moderator = { ...mod, token: t.access_token, refreshToken: t.refresh_token, sessionId: t.session_id };
});
afterAll(async () => {
  await store?.close();
  await stack?.stop();
});

const call = v1Caller(() => stack.api.url);
const review = (user: SignedUpUser | null, id: string, body: unknown) => call(user, 'POST', `/admin/products/${id}/review`, body);
const tagged = () => `rv${randomBytes(4).toString('hex')}`;

/** The whole queue, page by page (other suites flag listings in the same database). */
async function queue(): Promise<Json[]> {
  const all: Json[] = [];
  let cursor: string | null = null;
  do {
    const res = await call(moderator, 'GET', `/admin/products/flagged?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    all.push(...(res.json.data as Json[]));
    cursor = res.json.next_cursor as string | null;
  } while (cursor);
  return all;
}
const searchIds = async (q: string) => ((await call(null, 'GET', `/products?q=${encodeURIComponent(q)}&limit=50`)).json.data as Json[]).map((p) => p.id);
const events = async (id: string) =>
  (await stack.db.query(`SELECT type, payload FROM events WHERE aggregate_type = 'product' AND aggregate_id = $1 ORDER BY aggregate_version`, [id])).rows as { type: string; payload: Json }[];
const indexed = async (id: string) => (await stack.db.query('SELECT moderation FROM search_documents WHERE id = $1', [id])).rows[0] as { moderation: string } | undefined;
const matchesOf = async (productId: string) => (await stack.db.query('SELECT user_id FROM keyword_alert_matches WHERE product_id = $1', [productId])).rows.map((r) => r.user_id as string);
/** Once the keyword-alert subscriber has handled the listing's event of this type. */
const alertsHandled = (productId: string, type: string) =>
  waitFor(`${type} handled by the keyword alerts`, async () => {
    const { rows } = await stack.db.query(
      `SELECT 1 FROM inbox i JOIN events e ON e.id = i.event_id WHERE i.subscriber = 'engagement.keyword-alerts' AND e.aggregate_id = $1 AND e.type = $2`,
      [productId, type],
    );
    return rows.length > 0;
  });
const notifiedFor = async (user: SignedUpUser, productId: string) =>
  ((await call(user, 'GET', '/users/me/notifications?limit=100')).json.data as Json[]).filter((n) => (n.keyword_alert as Json | undefined)?.product_id === productId);
/** The seller's notices of decisions about this listing, oldest first. */
const reviewNotices = async (productId: string) =>
  ((await call(seller, 'GET', '/users/me/notifications?limit=100')).json.data as Json[])
    .filter((n) => n.kind === 'listing_review' && (n.listing_review as Json).product_id === productId)
    .reverse();

describe('the review queue of flagged listings', () => {
  it('when the seller edits a flagged listing after the moderator read it, then a decision naming the version read is 409 listing_changed and nothing changes; naming the current one, it applies', async () => {
    const tag = tagged();
    const p = await createListing(stack, seller.token, { title: `버전 확인 ${tag}`, description: FLAGGED_TEXT });
    expect(p.moderation).toBe('flagged');
    const read = (await queue()).find((l) => l.id === p.id)!;
    expect(read.version).toEqual(expect.any(Number));

    // The seller swaps the text the moderator read for another that flags too.
    const cur = (await call(seller, 'GET', `/products/${p.id}`)).json;
    const body = { title: cur.title, description: '텔레그램 @scam999 로 연락주세요', category_id: (cur.category as Json).id, price: cur.price, offers_allowed: cur.offers_allowed, condition: cur.condition, trade_methods: cur.trade_methods, shipping_fee: cur.shipping_fee, quantity: cur.quantity };
    const edited = await call(seller, 'PUT', `/products/${p.id}`, body);
    expect(edited.status).toBe(200);
    expect(edited.json.moderation).toBe('flagged');

    expectProblem(await review(moderator, p.id, { decision: 'approve', reason: '읽은 글은 괜찮음', version: read.version }), 409, 'listing_changed');
    expect((await call(seller, 'GET', `/products/${p.id}`)).json.moderation).toBe('flagged');
    expect((await events(p.id)).some((e) => e.type === 'product.reviewed')).toBe(false);

    const again = (await queue()).find((l) => l.id === p.id)!;
    expect(again.version).not.toBe(read.version);
    expect(again.flags).toEqual([expect.objectContaining({ rule: 'off_platform_contact', match: '텔레그램 @scam999' })]);
    expect((await review(moderator, p.id, { decision: 'remove', reason: '외부 거래 유도', version: again.version })).status).toBe(204);
  });

  it('when a flagged listing is approved, then it leaves the queue, joins search and notifies keyword alerts; the audited event names the moderator', async () => {
    const tag = tagged();
    expect((await call(fan, 'POST', '/users/me/keyword-alerts', { keyword: tag })).status).toBe(201);
    const p = await createListing(stack, seller.token, { title: `캠핑 의자 ${tag}`, description: FLAGGED_TEXT });
    expect(p.moderation).toBe('flagged');
    await waitFor('the flagged listing indexed', async () => (await indexed(p.id))?.moderation === 'flagged');
    expect(await searchIds(tag)).toEqual([]);
    // Posting it matched nobody's alert, and the seller's public list does not show it to others.
    await alertsHandled(p.id, 'product.created');
    expect(await matchesOf(p.id)).toEqual([]);
    const publicList = async (viewer: SignedUpUser) => ((await call(viewer, 'GET', `/users/${seller.id}/products?limit=100`)).json.data as Json[]).map((l) => l.id);
    expect(await publicList(fan)).not.toContain(p.id);
    expect(await publicList(seller)).toContain(p.id);

    const queued = (await queue()).find((l) => l.id === p.id);
    expect(queued).toMatchObject({
      object: 'flagged_listing',
      seller_id: seller.id,
      title: `캠핑 의자 ${tag}`,
      status: 'on_sale',
      flags: [{ field: 'description', rule: 'off_platform_contact', match: '카톡 아이디 mangwon77' }],
    });
    // Oldest first.
    const times = (await queue()).map((l) => Date.parse(String(l.created_at)));
    expect(times).toEqual([...times].sort((a, b) => a - b));

    expect((await review(moderator, p.id, { decision: 'approve', reason: '문의용 안내로 확인' })).status).toBe(204);
    expectProblem(await review(moderator, p.id, { decision: 'approve', reason: '다시' }), 409, 'not_flagged');
    expect((await queue()).some((l) => l.id === p.id)).toBe(false);
    expect((await call(seller, 'GET', `/products/${p.id}`)).json.moderation).toBe('ok');
    await waitFor('the approved listing in search', async () => (await searchIds(tag)).includes(p.id));
    await waitFor('the keyword alert notified', async () => (await notifiedFor(fan, p.id)).length === 1);
    // (Other suites' alerts in the same database may match the title too.)
    expect(await matchesOf(p.id)).toContain(fan.id);
    expect(await publicList(fan)).toContain(p.id);
    // The seller is told the outcome, not the moderator's note; the fan gets no such notice.
    const notices = await waitFor('the seller told', async () => {
      const found = await reviewNotices(p.id);
      return found.length > 0 && found;
    });
    expect(notices).toEqual([
      { object: 'notification', id: expect.stringMatching(/^ntf_/), kind: 'listing_review', listing_review: { product_id: p.id, title: `캠핑 의자 ${tag}`, decision: 'approved' }, read: false, created_at: expect.any(String) },
    ]);
    expect(JSON.stringify(notices)).not.toContain('문의용 안내로 확인');
    // The notice goes to the seller only: not to the fan whose alert matched, nor to the moderator.
    for (const other of [fan, moderator]) {
      expect(((await call(other, 'GET', '/users/me/notifications?limit=100')).json.data as Json[]).some((n) => n.kind === 'listing_review')).toBe(false);
    }

    // What the moderator approved does not flag it again: a new price keeps it in sight; a new
    // finding (a web link) sends it back to the queue.
    const edit = async (overrides: Json) => {
      const cur = (await call(seller, 'GET', `/products/${p.id}`)).json;
      const body = { title: cur.title, description: cur.description, category_id: (cur.category as Json).id, price: cur.price, offers_allowed: cur.offers_allowed, condition: cur.condition, trade_methods: cur.trade_methods, shipping_fee: cur.shipping_fee, quantity: cur.quantity, ...overrides };
      const res = await call(seller, 'PUT', `/products/${p.id}`, body);
      expect(res.status).toBe(200);
      return res.json.moderation;
    };
    expect(await edit({ price: 25_000 })).toBe('ok');
    expect(await edit({ description: `${FLAGGED_TEXT}\n사진은 https://example.com/chair 참고` })).toBe('flagged');
    expect((await queue()).some((l) => l.id === p.id)).toBe(true);

    const reviewed = (await events(p.id)).filter((e) => e.type === 'product.reviewed');
    expect(reviewed).toEqual([
      {
        type: 'product.reviewed',
        payload: { product_id: p.id, seller_id: seller.id, title: `캠핑 의자 ${tag}`, decision: 'approve', reason: '문의용 안내로 확인', moderator_id: moderator.id, moderation: 'ok' },
      },
    ]);
    // A second decision about the same listing is a second notice (one per decision, not per listing).
    expect((await review(moderator, p.id, { decision: 'approve', reason: '링크도 사진 안내로 확인' })).status).toBe(204);
    await waitFor('the second notice', async () => (await reviewNotices(p.id)).length === 2);
    // In the staff audit trail, under the moderator.
    const trail = await store.collection<ActivityLogEntry>(activityLogProjection.collection);
    const logged = await waitFor('the audit entry', async () => {
      const { items } = await trail.find({ where: [{ field: 'aggregate_id', op: 'eq', value: p.id }], limit: 10 });
      return items.find((e) => e.event_type === 'product.reviewed');
    });
    expect(logged).toMatchObject({ actor_id: moderator.id, aggregate_type: 'product' });
  });

  it('when a flagged listing is removed, then it is deleted for everyone and notifies nobody; the seller cannot review it', async () => {
    const tag = tagged();
    expect((await call(fan, 'POST', '/users/me/keyword-alerts', { keyword: tag })).status).toBe(201);
    const p = await createListing(stack, seller.token, { title: `캠핑 테이블 ${tag}`, description: FLAGGED_TEXT });
    expectProblem(await review(seller, p.id, { decision: 'approve', reason: '제 물건입니다' }), 403, 'forbidden');
    expect((await review(moderator, p.id, { decision: 'remove', reason: '외부 거래 유도' })).status).toBe(204);

    expectProblem(await call(seller, 'GET', `/products/${p.id}`), 404, 'not_found');
    expectProblem(await review(moderator, p.id, { decision: 'approve', reason: '실수' }), 404, 'not_found');
    expect((await queue()).some((l) => l.id === p.id)).toBe(false);
    expect((await events(p.id)).map((e) => e.type)).toEqual(['product.created', 'product.reviewed', 'product.deleted']);
    await waitFor('the removal indexed', async () => {
      const { rows } = await stack.db.query('SELECT deleted FROM search_documents WHERE id = $1', [p.id]);
      return rows[0]?.deleted === true;
    });
    // The alert subscriber saw the review and matched nobody (a deleted listing is no match).
    await alertsHandled(p.id, 'product.reviewed');
    expect(await matchesOf(p.id)).toEqual([]);
    expect(await notifiedFor(fan, p.id)).toEqual([]);
    // The seller learns it was removed.
    await waitFor('the seller told', async () => (await reviewNotices(p.id)).length === 1);
    expect((await reviewNotices(p.id))[0]!.listing_review).toEqual({ product_id: p.id, title: `캠핑 테이블 ${tag}`, decision: 'removed' });
  });

  it('when a decision is retried with its Idempotency-Key, then the first answer is replayed and the listing is decided once; the key with another decision is 422', async () => {
    const flagged = await createListing(stack, seller.token, { title: `캠핑 랜턴 ${tagged()}`, description: FLAGGED_TEXT });
    const key = `rv-${randomBytes(8).toString('hex')}`;
    const decide = (decision: string) =>
      raw(`${stack.api.url}/v1/admin/products/${flagged.id}/review`, {
        method: 'POST',
        headers: { authorization: `Bearer ${moderator.token}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ decision, reason: '문의용 안내로 확인' }),
      });
    const first = await decide('approve');
    expect(first.status).toBe(204);
    const again = await decide('approve');
    expect(again.status).toBe(204);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expectProblem(await decide('remove'), 422, 'idempotency_key_reused');
    expect((await stack.db.query(`SELECT count(*)::int AS n FROM events WHERE aggregate_id = $1 AND type = 'product.reviewed'`, [flagged.id])).rows[0].n).toBe(1);
  });

  it('when the listing is not flagged or unknown, or the request is wrong, then nothing changes: 409, 404, 400; only staff may look: 401, 403', async () => {
    const plain = await createListing(stack, seller.token, { title: `평범한 의자 ${tagged()}` });
    expectProblem(await review(moderator, plain.id, { decision: 'remove', reason: '확인' }), 409, 'not_flagged');
    expectProblem(await review(moderator, 'prd_00000000000000000000', { decision: 'approve', reason: '확인' }), 404, 'not_found');
    const flagged = await createListing(stack, seller.token, { title: `캠핑 랜턴 ${tagged()}`, description: FLAGGED_TEXT });
    expectProblem(await review(moderator, flagged.id, { decision: 'maybe', reason: '확인' }), 400, 'validation_failed');
    expectProblem(await review(moderator, flagged.id, { decision: 'approve', reason: '   ' }), 400, 'validation_failed');
    expectProblem(await review(moderator, flagged.id, { decision: 'approve' }), 400, 'validation_failed');
    expect((await stack.db.query('SELECT moderation, deleted_at FROM products WHERE id = $1', [flagged.id])).rows[0]).toEqual({ moderation: 'flagged', deleted_at: null });
    expect((await stack.db.query(`SELECT count(*)::int AS n FROM events WHERE aggregate_id = $1 AND type = 'product.reviewed'`, [flagged.id])).rows[0].n).toBe(0);

    expectProblem(await call(fan, 'GET', '/admin/products/flagged'), 403, 'forbidden');
    expectProblem(await call(null, 'GET', '/admin/products/flagged'), 401, 'unauthenticated');
    expectProblem(await review(null, flagged.id, { decision: 'approve', reason: '확인' }), 401, 'unauthenticated');
    expectProblem(await call(moderator, 'GET', '/admin/products/flagged?cursor=bm90LWEtY3Vyc29y'), 400, 'invalid_cursor');

    // A moderator's own flagged listing is for another moderator to decide.
    const sellingModerator = await sellerWithNeighbourhood(stack, 'rvmodseller');
    const own = await createListing(stack, sellingModerator.token, { title: `캠핑 버너 ${tagged()}`, description: FLAGGED_TEXT });
    await grantRole(sellingModerator.email, 'moderator', stack.api.config);
    const login = await stack.login(sellingModerator.email, sellingModerator.password);
    expectProblem(await review({ ...sellingModerator, token: login.access_token }, own.id, { decision: 'approve', reason: '제 것' }), 422, 'cannot_review_own_listing');
    expect((await review(moderator, own.id, { decision: 'approve', reason: '확인' })).status).toBe(204);

    // A moderator whose role is taken away is refused at once, whatever the token still says.
    await stack.db.query(`UPDATE users SET roles = ARRAY['user'] WHERE id = $1`, [moderator.id]);
    try {
      expectProblem(await review(moderator, flagged.id, { decision: 'approve', reason: '확인' }), 403, 'forbidden');
    } finally {
      await grantRole(moderator.email, 'moderator', stack.api.config);
    }
    expect((await stack.db.query('SELECT moderation FROM products WHERE id = $1', [flagged.id])).rows[0].moderation).toBe('flagged');
  });
});

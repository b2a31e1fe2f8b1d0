import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { components, operations } from '../../../generated/api';
import { CURRENT_LOCATION_TERMS_VERSION } from '../../../src/modules/neighbourhoods/domain/neighbourhood';
import { FEED_CACHE_KEY, rebuildSearchIndex, searchIndexFor } from '../../../src/modules/search';
import { createIndexFeeder, parseIndexChange, SEARCH_INDEX_CHANGED_CHANNEL, searchIndexSubscription } from '../../../src/modules/search/index-feeder';
import type { StoredEvent } from '../../../src/platform/events/event';
import { toStoredEvent } from '../../../src/platform/events/event-store';
import { PostgresSearchIndex, type SearchDocument, type SearchIndex, type WriteOptions } from '../../../src/platform/search';
import { createSequelize } from '../../../src/platform/db/sequelize';
import { sealCursor } from '../../../src/platform/pagination/cursor';
import { createLogger } from '../../../src/platform/logger';
import { connectRedis } from '../../../src/platform/redis';
import { categoryId, createListing, MANGWON, PHONES, sellerWithNeighbourhood, type Seller } from '../../support/catalog';
import { expectProblem, v1Caller } from '../../support/http';
import { startIdentityStack, type IdentityStack, type SignedUpUser } from '../../support/identity';
import { TEST_ENV } from '../../support/env';
import { waitFor } from '../../support/wait';

type Summary = components['schemas']['ProductSummary'];
type ListQuery = NonNullable<operations['listProducts']['parameters']['query']>;

const TABLETS = categoryId('digital/tablets');
const DIGITAL = categoryId('digital');
const RECORDS = categoryId('hobbies/records');
const SEEDS = categoryId('plants/seeds');
// 역삼동 (강남구): about 13 km from 망원동.
const YEOKSAM = { lat: 37.4999, lng: 127.0365 };
// 일도1동 (제주시).
const JEJU = { lat: 33.5131, lng: 126.5297 };

let stack: IdentityStack;
let seller: Seller;
let farSeller: Seller;
let buyer: Seller;

/** A user with location consent and a neighbourhood verified at `at`, through the API. */
async function userVerifiedAt(tag: string, at: { lat: number; lng: number }): Promise<Seller> {
  const user = await stack.signUp(tag);
  const api = stack.api.client({ token: user.token });
  await api.PUT('/users/me/location-consent', { body: { terms_version: CURRENT_LOCATION_TERMS_VERSION } });
  const { data } = await api.POST('/users/me/neighbourhoods', { body: at });
  return { ...user, dongCode: data!.dong_code };
}

beforeAll(async () => {
  stack = await startIdentityStack();
  [seller, farSeller, buyer] = await Promise.all([sellerWithNeighbourhood(stack, 'srch'), userVerifiedAt('far', YEOKSAM), sellerWithNeighbourhood(stack, 'buyer')]);
});
afterAll(() => stack?.stop());

const tagged = () => `t${randomBytes(4).toString('hex')}`;

/** GET /v1/products as `user` (anonymous when null), through the SDK typed by the spec. */
async function list(query: ListQuery, user: SignedUpUser | null = null) {
  const res = await stack.api.client(user ? { token: user.token } : {}).GET('/products', { params: { query } });
  return { status: res.response.status, body: res.data };
}
const ids = async (query: ListQuery, user: SignedUpUser | null = null) => (await list({ limit: 100, ...query }, user)).body!.data.map((p) => p.id);

/** Polls until the search returns exactly `expected` (as a set): the index is fed by events. */
const eventually = (what: string, query: ListQuery, expected: string[], user: SignedUpUser | null = null) =>
  waitFor(what, async () => {
    const got = await ids(query, user);
    return got.length === expected.length && expected.every((id) => got.includes(id)) ? got : null;
  });

const call = v1Caller(() => stack.api.url);

describe('GET /v1/products (search)', () => {
  it('when listings are posted, then Korean words find them inside longer titles and English matches in any case', async () => {
    const tag = tagged();
    const iphone = await createListing(stack, seller.token, { title: `아이폰 14 프로 256GB ${tag}` });
    const bike = await createListing(stack, seller.token, { title: `미니벨로 자전거 ${tag}`, category_id: categoryId('hobbies/hobbies-etc') });
    const apple = await createListing(stack, seller.token, { title: `Apple iPhone 15 Pro ${tag}` });
    await eventually('the three listings indexed', { q: tag }, [iphone.id, bike.id, apple.id]);

    expect(await ids({ q: `아이폰 ${tag}` })).toEqual([iphone.id]);
    expect(await ids({ q: `자전거 ${tag}` })).toEqual([bike.id]);
    expect(await ids({ q: `iphone ${tag}` })).toEqual([apple.id]);
    expect(await ids({ q: `IPHONE ${tag.toUpperCase()}` })).toEqual([apple.id]);
    expect(await ids({ q: `냉장고 ${tag}` })).toEqual([]);

    const { body } = await list({ q: `아이폰 ${tag}` });
    const card = body!.data[0]!;
    expect(card).toEqual({
      id: iphone.id,
      object: 'product',
      title: `아이폰 14 프로 256GB ${tag}`,
      price: 850_000,
      free: false,
      status: 'on_sale',
      condition: 'like_new',
      category_id: PHONES,
      location: { dong_code: seller.dongCode, dong_name: expect.stringMatching(/^망원/) },
      like_count: 0,
      chat_count: 0,
      bumped_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
    // Nothing that locates or identifies the seller.
    expect(JSON.stringify(body)).not.toMatch(/"(lat|lng|seller_id|seller)"/);
  });

  it('when filtering by category, price, free, condition, trade method and status, then each narrows the results and sub-categories count', async () => {
    const tag = tagged();
    const phone = await createListing(stack, seller.token, { title: `폰 ${tag}`, price: 300_000, condition: 'used', trade_methods: ['meet_up', 'parcel'], shipping_fee: 3000 });
    const tablet = await createListing(stack, seller.token, { title: `태블릿 ${tag}`, category_id: TABLETS, price: 0, condition: 'new' });
    const record = await createListing(stack, seller.token, { title: `LP ${tag}`, category_id: RECORDS, price: 20_000, condition: 'for_parts', trade_methods: ['convenience_store'], shipping_fee: 1800 });
    await eventually('indexed', { q: tag }, [phone.id, tablet.id, record.id]);

    expect((await ids({ q: tag, category_id: DIGITAL })).sort()).toEqual([phone.id, tablet.id].sort());
    expect(await ids({ q: tag, category_id: TABLETS })).toEqual([tablet.id]);
    expect((await ids({ q: tag, min_price: 20_000, max_price: 300_000 })).sort()).toEqual([phone.id, record.id].sort());
    expect(await ids({ q: tag, free: true })).toEqual([tablet.id]);
    expect(await ids({ q: tag, condition: 'for_parts' })).toEqual([record.id]);
    expect(await ids({ q: tag, trade_method: 'parcel' })).toEqual([phone.id]);

    expect((await call(seller, 'POST', `/products/${record.id}/status`, { status: 'reserved', buyer_id: buyer.id })).status).toBe(200);
    await eventually('reserved', { q: tag, status: 'reserved' }, [record.id]);
    expect((await ids({ q: tag, status: 'on_sale' })).sort()).toEqual([phone.id, tablet.id].sort());

    expectProblem(await call(null, 'GET', `/products?q=${tag}&category_id=cat_0000000000000000`), 400, 'unknown_category');
    const badRange = await call(null, 'GET', `/products?min_price=10&max_price=5`);
    expectProblem(badRange, 400, 'invalid_price_range');
  });

  it('when listings are hidden, deleted or the filter excludes them, then they never appear', async () => {
    const tag = tagged();
    const kept = await createListing(stack, seller.token, { title: `남는 책상 ${tag}`, category_id: categoryId('furniture/desks-chairs') });
    const hidden = await createListing(stack, seller.token, { title: `숨길 책상 ${tag}`, category_id: categoryId('furniture/desks-chairs') });
    const deleted = await createListing(stack, seller.token, { title: `지울 책상 ${tag}`, category_id: categoryId('furniture/desks-chairs') });
    await eventually('indexed', { q: tag }, [kept.id, hidden.id, deleted.id]);
    expect((await call(seller, 'POST', `/products/${hidden.id}/status`, { status: 'hidden' })).status).toBe(200);
    expect((await call(seller, 'DELETE', `/products/${deleted.id}`)).status).toBe(204);
    await eventually('hidden and deleted gone', { q: tag }, [kept.id]);
    // Not even for their seller, nor through any other filter.
    expect(await ids({ q: tag }, seller)).toEqual([kept.id]);
    expect(await ids({ q: `숨길 ${tag}`, status: 'on_sale' })).toEqual([]);
  });

  it('when sorting by price, popularity and recency and paging with a small limit, then every listing comes once in order; a tampered or foreign cursor is 400 invalid_cursor', async () => {
    const tag = tagged();
    const prices = [5_000, 1_000, 9_000, 1_000, 7_000];
    const made: { id: string; price: number }[] = [];
    for (const price of prices) made.push({ id: (await createListing(stack, seller.token, { title: `정렬 ${tag}`, price })).id, price });
    await eventually('indexed', { q: tag }, made.map((m) => m.id));
    // Likes from two users on one listing, one on another.
    for (const user of [buyer, farSeller]) expect((await call(user, 'PUT', `/products/${made[2]!.id}/like`)).status).toBeLessThan(300);
    expect((await call(buyer, 'PUT', `/products/${made[0]!.id}/like`)).status).toBeLessThan(300);

    const walk = async (query: ListQuery) => {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const { body } = await list({ ...query, q: tag, limit: 2, cursor });
        expect(body!.data.length).toBeLessThanOrEqual(2);
        seen.push(...body!.data.map((p) => p.id));
        cursor = body!.next_cursor ?? undefined;
        expect(body!.has_more).toBe(cursor !== undefined);
      } while (cursor);
      return seen;
    };
    const byPrice = [...made].sort((a, b) => a.price - b.price || (a.id < b.id ? -1 : 1)).map((m) => m.id);
    expect(await walk({ sort: 'price_asc' })).toEqual(byPrice);
    expect(await walk({ sort: 'price_desc' })).toEqual([...byPrice].reverse());
    expect(await walk({ sort: 'recent' })).toEqual(made.map((m) => m.id).reverse());
    // Likes do not drop cached pages (lists show counts up to the cache TTL late): read once the
    // index holds them, so the first read of this popular page is already right.
    const indexedLikes = async (id: string) => (await stack.db.query('SELECT like_count FROM search_documents WHERE id = $1', [id])).rows[0]?.like_count as number | undefined;
    await waitFor('likes indexed', async () => (await indexedLikes(made[2]!.id)) === 2 && (await indexedLikes(made[0]!.id)) === 1);
    const popular = await waitFor('likes counted', async () => {
      const order = await walk({ sort: 'popular' });
      return order[0] === made[2]!.id && order[1] === made[0]!.id ? order : null;
    });
    expect(popular).toHaveLength(5);

    const { body } = await list({ q: tag, sort: 'price_asc', limit: 2 });
    const cursor = body!.next_cursor!;
    expectProblem(await call(null, 'GET', `/products?q=${tag}&sort=price_desc&limit=2&cursor=${cursor}`), 400, 'invalid_cursor');
    expectProblem(await call(null, 'GET', `/products?q=${tag}&sort=price_asc&limit=2&max_price=5000&cursor=${cursor}`), 400, 'invalid_cursor');
    const decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    const tampered = Buffer.from(JSON.stringify([0, ...decoded.slice(1)])).toString('base64url');
    expectProblem(await call(null, 'GET', `/products?q=${tag}&sort=price_asc&limit=2&cursor=${tampered}`), 400, 'invalid_cursor');
    // The checksum is no signature: a client can seal any position, a NUL in the id included,
    // which PostgreSQL's text refuses (it was a 500).
    const [value, , boundTo] = decoded as [unknown, string, string];
    const nul = sealCursor('search', { value, id: 'prd_\u0000' }, boundTo);
    expectProblem(await call(null, 'GET', `/products?q=${tag}&sort=price_asc&limit=2&cursor=${nul}`), 400, 'invalid_cursor');
  });

  it('when listings are posted and one is bumped while a reader pages the newest-first list, then no listing repeats, none of the new ones comes, and only the bumped one (now above) is not met again', async () => {
    const pager = await sellerWithNeighbourhood(stack, 'pager');
    const tag = tagged();
    const before: string[] = [];
    for (let i = 0; i < 6; i++) before.push((await createListing(stack, pager.token, { title: `페이지 ${tag} ${i}` })).id);
    await eventually('indexed', { q: tag }, before);

    const seen: string[] = [];
    const page = async (cursor?: string) => {
      const { status, body } = await list({ q: tag, sort: 'recent', limit: 2, cursor });
      expect(status).toBe(200);
      seen.push(...body!.data.map((p) => p.id));
      return body!.next_cursor ?? undefined;
    };
    let cursor = await page();
    // Two new listings land on top while the reader is on page 1, then one more between pages.
    const added = [(await createListing(stack, pager.token, { title: `페이지 ${tag} 새1` })).id, (await createListing(stack, pager.token, { title: `페이지 ${tag} 새2` })).id];
    await eventually('the new ones indexed', { q: tag }, [...before, ...added]);
    cursor = await page(cursor);
    added.push((await createListing(stack, pager.token, { title: `페이지 ${tag} 새3` })).id);
    await eventually('the third indexed', { q: tag }, [...before, ...added]);
    // The oldest, not yet seen, is bumped (끌어올리기) meanwhile: it moves above the reader's
    // place, so this walk does not meet it again; a new walk finds it on top.
    const bumped = before[0]!;
    await stack.db.query(`UPDATE products SET bumped_at = now() - interval '25 hours' WHERE id = $1`, [bumped]);
    expect((await call(pager, 'POST', `/products/${bumped}/bump`, {})).status).toBe(200);
    await waitFor('the bump indexed', async () => (await ids({ q: tag, sort: 'recent' }))[0] === bumped);
    while (cursor) cursor = await page(cursor);

    expect(seen).toEqual([...before].reverse().filter((id) => id !== bumped));
    expect(new Set(seen).size).toBe(seen.length);
    // A new walk starts with the bumped one, then the new ones.
    expect((await list({ q: tag, sort: 'recent', limit: 4 })).body!.data.map((p) => p.id)).toEqual([bumped, ...[...added].reverse()]);
  });

  it('when searching near a point or sorting by distance, then only listings within the radius come, nearest first, with distance_m', async () => {
    const tag = tagged();
    const here = await createListing(stack, seller.token, { title: `근처 ${tag}` });
    const far = await createListing(stack, farSeller.token, { title: `먼곳 ${tag}` });
    await eventually('indexed', { q: tag }, [here.id, far.id]);

    const near = await list({ q: tag, near: `${MANGWON.lat},${MANGWON.lng}`, radius: 3000 });
    expect(near.body!.data.map((p) => p.id)).toEqual([here.id]);
    expect(near.body!.data[0]!.distance_m).toBeLessThan(3000);
    const wide = await list({ q: tag, near: `${MANGWON.lat},${MANGWON.lng}`, radius: 20_000, sort: 'distance' });
    expect(wide.body!.data.map((p) => p.id)).toEqual([here.id, far.id]);
    const [d1, d2] = wide.body!.data.map((p) => p.distance_m!);
    expect(d2!).toBeGreaterThan(10_000);
    expect(d2!).toBeLessThan(16_000);
    expect(d1!).toBeLessThan(d2!);
    // Without a location, distance cannot be sorted by; two locations conflict.
    expectProblem(await call(null, 'GET', `/products?q=${tag}&sort=distance`), 400, 'location_required');
    expectProblem(await call(buyer, 'GET', `/products?neighbourhood=me&near=37.5,126.9`), 400, 'conflicting_location_filters');
    expectProblem(await call(null, 'GET', `/products?dong_code=0000000000`), 400, 'unknown_dong');
    // A parameter without the one it belongs to would be ignored: the answer would be another question's.
    const orphan = await call(null, 'GET', `/products?q=${tag}&radius=500`);
    expectProblem(orphan, 400, 'parameter_not_applicable');
    expect(orphan.json.errors).toEqual([expect.objectContaining({ parameter: 'radius', in: 'query', code: 'parameter_not_applicable' })]);
    expectProblem(await call(buyer, 'GET', `/products?neighbourhood=me&range=far`), 400, 'parameter_not_applicable');
    expectProblem(await call(null, 'GET', `/products?q=${tag}&range=near`), 400, 'parameter_not_applicable');
  });

  it('when everything near a point is asked nearest first (no words), then the pages follow each other in distance order, as the same search with words orders them', async () => {
    // 울릉도: a corner of the map the other tests leave alone; its three dongs are 6–7 km apart.
    const [eup, seomyeon] = await Promise.all([userVerifiedAt('ulleung', { lat: 37.481114, lng: 130.901756 }), userVerifiedAt('seomyeon', { lat: 37.463769, lng: 130.836189 })]);
    const tag = tagged();
    const mine = [
      await createListing(stack, seomyeon.token, { title: `울릉 서면 ${tag}` }),
      await createListing(stack, eup.token, { title: `울릉 읍내 ${tag}` }),
      await createListing(stack, eup.token, { title: `울릉 읍내 둘 ${tag}` }),
    ];
    const near = '37.4812,130.9018';
    try {
      await eventually('indexed', { q: tag, near, radius: 20_000, sort: 'distance' }, mine.map((l) => l.id));
      const walk = async (query: ListQuery) => {
        const seen: [string, number][] = [];
        let cursor: string | undefined;
        do {
          const { body } = await list({ near, radius: 20_000, sort: 'distance', limit: 2, ...query, ...(cursor ? { cursor } : {}) });
          seen.push(...body!.data.map((p): [string, number] => [p.id, p.distance_m!]));
          cursor = body!.next_cursor ?? undefined;
        } while (cursor);
        return seen;
      };
      const everything = await walk({});
      expect(everything.map(([, d]) => d)).toEqual([...everything.map(([, d]) => d)].sort((a, b) => a - b));
      const ours = everything.filter(([id]) => mine.some((l) => l.id === id));
      expect(ours).toEqual(await walk({ q: tag }));
      expect(ours.map(([id]) => id)).toEqual([...[mine[1]!.id, mine[2]!.id].sort(), mine[0]!.id]);
    } finally {
      await Promise.all(mine.map((l, i) => call(i === 0 ? seomyeon : eup, 'DELETE', `/products/${l.id}`)));
    }
  });

  it('when asking for neighbourhood=me, then listings of my verified neighbourhood and its neighbours come, not far ones; anonymous is 401, unverified 403', async () => {
    const tag = tagged();
    const here = await createListing(stack, seller.token, { title: `동네 ${tag}` });
    const far = await createListing(stack, farSeller.token, { title: `강남 ${tag}` });
    await eventually('indexed', { q: tag }, [here.id, far.id]);
    expect(await ids({ q: tag, neighbourhood: 'me' }, buyer)).toEqual([here.id]);
    expect(await ids({ q: tag, neighbourhood: 'me' }, farSeller)).toEqual([far.id]);
    expect(await ids({ q: tag, dong_code: farSeller.dongCode, range: 'near' })).toEqual([far.id]);
    const page = await list({ q: tag, neighbourhood: 'me', sort: 'distance' }, buyer);
    expect(page.body!.data[0]!.distance_m).toEqual(expect.any(Number));

    expectProblem(await call(null, 'GET', '/products?neighbourhood=me'), 401, 'unauthenticated');
    const stranger = await stack.signUp('nohood');
    expectProblem(await call(stranger, 'GET', '/products?neighbourhood=me'), 403, 'neighbourhood_verification_required');
  });
});

describe('GET /v1/products (feed cache)', () => {
  it('when a neighbourhood feed is read twice, then the second read is served from the cache, and an edit drops it so the next read shows the edit', async () => {
    const tag = tagged();
    const listing = await createListing(stack, seller.token, { title: `캐시 LP ${tag}`, category_id: RECORDS, price: 15_000 });
    const feed: ListQuery = { category_id: RECORDS, neighbourhood: 'me', sort: 'recent', limit: 5 };
    const first = async () => (await list(feed, buyer)).body!.data[0] as Summary | undefined;
    await waitFor('the listing on top of the feed', async () => (await first())?.id === listing.id);

    // Change the index behind the feeder's back: a cached feed does not see it. Other test files
    // change the index at the same time, and each change drops every cached feed (as it must):
    // when that happens between the two reads, put the title back and try again.
    const db = stack.db;
    const behind = (title: string) => db.query(`UPDATE search_documents SET title = $2 WHERE id = $1`, [listing.id, title]);
    let servedFromCache = false;
    for (let attempt = 0; attempt < 5 && !servedFromCache; attempt++) {
      if (attempt > 0) {
        // The cache now holds the changed title: put it back and drop the cache as the feeder does.
        await behind(`캐시 LP ${tag}`);
        await db.query('SELECT pg_notify($1, $2)', [SEARCH_INDEX_CHANGED_CHANNEL, listing.id]);
        await waitFor('the feed read again from the index', async () => (await first())?.title === `캐시 LP ${tag}`);
      }
      await behind('changed behind the cache');
      servedFromCache = (await first())?.title === `캐시 LP ${tag}`;
    }
    expect(servedFromCache, 'the second read of a feed came from the cache').toBe(true);
    // An uncached query (a price range: unbounded variants are never cached) reads the index itself.
    expect((await list({ q: tag, min_price: 1 }, buyer)).body!.data[0]!.title).toBe('changed behind the cache');

    const current = await call(seller, 'GET', `/products/${listing.id}`);
    const edited = await call(
      seller,
      'PUT',
      `/products/${listing.id}`,
      {
        title: `고친 LP ${tag}`,
        description: current.json.description,
        category_id: RECORDS,
        price: 12_000,
        offers_allowed: current.json.offers_allowed,
        condition: current.json.condition,
        trade_methods: current.json.trade_methods,
        shipping_fee: current.json.shipping_fee,
        quantity: current.json.quantity,
      },
      { 'if-match': current.headers.get('etag')! },
    );
    expect(edited.status).toBe(200);
    const shown = await waitFor('the edit in the cached feed', async () => {
      const top = await first();
      return top?.title === `고친 LP ${tag}` ? top : null;
    });
    expect(shown.price).toBe(12_000);
  });
});

describe('GET /v1/products (feed cache scopes)', () => {
  it('when a listing changes in another category far away, then cached category and neighbourhood feeds are kept; a change in them drops them', async () => {
    const tag = tagged();
    // A quiet place and category, so that other test files' listings rarely touch these feeds.
    const islander = await userVerifiedAt('jeju', JEJU);
    const listing = await createListing(stack, islander.token, { title: `제주 씨앗 ${tag}`, category_id: SEEDS, price: 3_000 });
    const byCategory: ListQuery = { category_id: SEEDS, neighbourhood: 'me', sort: 'recent', limit: 50 };
    const byDong: ListQuery = { dong_code: islander.dongCode, range: 'near', sort: 'recent', limit: 50 };
    const titleIn = async (feed: ListQuery) => (await list(feed, islander)).body!.data.find((p) => p.id === listing.id)?.title;
    await waitFor('the listing in both feeds', async () => (await titleIn(byCategory)) === `제주 씨앗 ${tag}` && (await titleIn(byDong)) === `제주 씨앗 ${tag}`);

    const redis = await connectRedis(TEST_ENV.REDIS_URL);
    const behind = (title: string) => stack.db.query(`UPDATE search_documents SET title = $2 WHERE id = $1`, [listing.id, title]);
    // The API has handled a change once it has moved the generation of that change's category.
    const digitalGeneration = async () => Number((await redis.get(`{${FEED_CACHE_KEY}}:g:c:digital`)) ?? 0);
    try {
      let kept = false;
      // Another test file's listing in this category or around this dong drops these feeds, as it
      // must: then put the title back and try again. Were every change to drop every feed, no
      // attempt could succeed.
      for (let attempt = 0; attempt < 5 && !kept; attempt++) {
        await behind(`제주 씨앗 ${tag}`);
        await stack.db.query('SELECT pg_notify($1, $2)', [SEARCH_INDEX_CHANGED_CHANNEL, '']);
        await waitFor('both feeds read again', async () => (await titleIn(byCategory)) === `제주 씨앗 ${tag}` && (await titleIn(byDong)) === `제주 씨앗 ${tag}`);
        await behind('changed behind the cache');
        // A tablet posted in 역삼동, ~450 km away: another category, no neighbourhood of these.
        // The digital feed is read first: a change bumps only the scopes that hold something.
        await list({ category_id: DIGITAL, sort: 'recent', limit: 1 });
        const before = await digitalGeneration();
        await createListing(stack, farSeller.token, { title: `먼 태블릿 ${tag}`, category_id: TABLETS });
        await waitFor('the far change handled by the API', async () => (await digitalGeneration()) > before);
        kept = (await titleIn(byCategory)) === `제주 씨앗 ${tag}` && (await titleIn(byDong)) === `제주 씨앗 ${tag}`;
      }
      expect(kept, 'a change elsewhere left both cached feeds in place').toBe(true);

      // A new listing of the same seller, in this category and dong: both feeds are read again.
      const nearby = await createListing(stack, islander.token, { title: `제주 모종 ${tag}`, category_id: SEEDS, price: 2_000 });
      await waitFor('both feeds dropped by the change in them', async () => (await titleIn(byCategory)) === 'changed behind the cache' && (await titleIn(byDong)) === 'changed behind the cache');
      expect((await ids(byCategory, islander))).toContain(nearby.id);
    } finally {
      redis.disconnect();
      await behind(`제주 씨앗 ${tag}`);
    }
  });
});

describe('GET /v1/products?near= (pages shared by points with the same dongs)', () => {
  it('when two points have the same dongs within the radius, then the second reads the page the first cached, with its own distances, and can follow its cursor; a change in any of the dongs drops it, one far away does not', async () => {
    const tag = tagged();
    // a and c have the same ten dongs within 3 km but different nearest dongs (일도1동, 211 m from
    // a; 삼도2동, 419 m from c); 오라동 is one of the ten, 2.8 km from a. Within 1 km, a has four.
    const a = `${JEJU.lat},${JEJU.lng}`;
    const c = '33.5051,126.5217';
    const [islander, edge] = await Promise.all([userVerifiedAt('jejunear', JEJU), userVerifiedAt('ora', { lat: 33.491894, lng: 126.513619 })]);
    const older = await createListing(stack, islander.token, { title: `제주 근처 감귤 ${tag}`, category_id: SEEDS, price: 4_000 });
    const newer = await createListing(stack, islander.token, { title: `제주 근처 모종 ${tag}`, category_id: SEEDS, price: 5_000 });
    const nearby = (near: string, extra: ListQuery = {}) => list({ q: tag, near, radius: 3000, ...extra });
    // Nearest first is never cached (its order is the point's): the index's own distances.
    const uncachedDistance = async (near: string) => (await nearby(near, { sort: 'distance' })).body!.data.find((p) => p.id === older.id)!.distance_m!;
    await eventually('both indexed', { q: tag, near: a, radius: 3000, sort: 'distance' }, [older.id, newer.id]);
    const [atA, atC] = [await uncachedDistance(a), await uncachedDistance(c)];
    expect(Math.abs(atC - atA)).toBeGreaterThan(500);

    const redis = await connectRedis(TEST_ENV.REDIS_URL);
    const behind = (title: string) => stack.db.query(`UPDATE search_documents SET title = $2 WHERE id = $1`, [older.id, title]);
    const olderAt = async (near: string) => (await nearby(near)).body!.data.find((p) => p.id === older.id);
    /** The Redis scopes whose first pages hold a page of this test's query. */
    const scopesHolding = async () => {
      const scopes: string[] = [];
      const prefix = `{${FEED_CACHE_KEY}}:s:`;
      for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1000 }) as AsyncIterable<string[]>) {
        for (const key of keys) if ((await redis.hkeys(key)).some((variant) => variant.includes(tag))) scopes.push(key.slice(prefix.length));
      }
      return scopes;
    };
    const digitalGeneration = async () => Number((await redis.get(`{${FEED_CACHE_KEY}}:g:c:digital`)) ?? 0);
    try {
      let kept = false;
      // As for feeds: another test file's listing around these dongs drops the page; then try again.
      for (let attempt = 0; attempt < 5 && !kept; attempt++) {
        await behind(`제주 근처 감귤 ${tag}`);
        await stack.db.query('SELECT pg_notify($1, $2)', [SEARCH_INDEX_CHANGED_CHANNEL, '']);
        await waitFor('the page read again at a', async () => (await olderAt(a))?.title === `제주 근처 감귤 ${tag}`);
        expect((await olderAt(a))!.distance_m).toBe(atA);
        await behind('changed behind the cache');
        // A tablet posted in 역삼동, ~450 km away: the page is not in any scope that change touches.
        await list({ category_id: DIGITAL, sort: 'recent', limit: 1 });
        const before = await digitalGeneration();
        await createListing(stack, farSeller.token, { title: `먼 태블릿 ${tag}`, category_id: TABLETS });
        await waitFor('the far change handled by the API', async () => (await digitalGeneration()) > before);
        const shared = await olderAt(c);
        kept = shared?.title === `제주 근처 감귤 ${tag}`;
        // With c's distance, as the index gives it to c.
        if (kept) expect(shared!.distance_m).toBe(atC);
      }
      expect(kept, 'c read the page a cached, and a change far away left it').toBe(true);
      // One entry in Redis for both points: its scope is the dongs', not the point's.
      const scopes = await scopesHolding();
      expect(scopes).toHaveLength(1);
      expect(scopes[0]).toMatch(/^d:50110\d{5}:(1500|3000|6000)$/);

      // a's cursor serves c (the same dongs: the same walk); not a page of other dongs.
      const first = (await nearby(a, { limit: 1 })).body!;
      expect(first.data.map((p) => p.id)).toEqual([newer.id]);
      const next = await nearby(c, { limit: 1, cursor: first.next_cursor! });
      expect(next.status).toBe(200);
      expect(next.body!.data.map((p) => [p.id, p.distance_m])).toEqual([[older.id, atC]]);
      expectProblem(await call(null, 'GET', `/products?q=${tag}&near=${a}&radius=1000&limit=1&cursor=${encodeURIComponent(first.next_cursor!)}`), 400, 'invalid_cursor');

      // A new listing in 오라동, at the page's edge: the page is read again, at either point.
      const added = await createListing(stack, edge.token, { title: `제주 근처 씨앗 ${tag}`, category_id: SEEDS, price: 3_000 });
      await waitFor('the page dropped by the change in one of its dongs', async () => (await olderAt(c))?.title === 'changed behind the cache');
      expect((await nearby(c)).body!.data.map((p) => p.id)).toEqual([added.id, newer.id, older.id]);
    } finally {
      redis.disconnect();
      await behind(`제주 근처 감귤 ${tag}`);
    }
  });
});

/**
 * The listing ids the feeder tells the API processes (`search_index_changed`), as they arrive.
 * `caughtUp` returns once everything told before it has arrived: notifications come in commit
 * order, so a sentinel sent now arrives after them.
 */
async function listenToIndexChanges() {
  const listener = new Client({ connectionString: TEST_ENV.DATABASE_URL });
  await listener.connect();
  const told: string[] = [];
  listener.on('notification', (n) => told.push(parseIndexChange(n.payload)?.id ?? n.payload ?? ''));
  await listener.query(`LISTEN ${SEARCH_INDEX_CHANGED_CHANNEL}`);
  return {
    told,
    async caughtUp(what: string) {
      const sentinel = `sentinel ${randomBytes(8).toString('hex')}`;
      await stack.db.query('SELECT pg_notify($1, $2)', [SEARCH_INDEX_CHANGED_CHANNEL, sentinel]);
      await waitFor(what, async () => told.includes(sentinel));
    },
    end: () => listener.end(),
  };
}

describe('GET /v1/products (feed cache and likes)', () => {
  it('when a listing is liked, then the cached feeds are not dropped (lists show the count within the cache TTL); hiding it drops them', async () => {
    const tag = tagged();
    // What the feeder tells the API processes, told apart from other test files' by the listing
    // id; listening before the listing exists, so that its creation cannot be told unheard.
    const { told, caughtUp, end } = await listenToIndexChanges();
    try {
      const listing = await createListing(stack, seller.token, { title: `좋아요 캐시 ${tag}`, category_id: RECORDS, price: 7_000 });
      const indexed = async () => (await stack.db.query('SELECT like_count FROM search_documents WHERE id = $1', [listing.id])).rows[0] as { like_count: number } | undefined;
      await waitFor('the listing indexed', async () => (await indexed()) !== undefined);
      await waitFor('its creation told', async () => told.includes(listing.id));
      told.length = 0;

      expect((await call(buyer, 'PUT', `/products/${listing.id}/like`)).status).toBeLessThan(300);
      await waitFor('the like indexed', async () => (await indexed())?.like_count === 1);
      // Notifications arrive in commit order: once this one is here, the like's would have been.
      await caughtUp('the sentinel');
      expect(told).not.toContain(listing.id);

      expect((await call(seller, 'POST', `/products/${listing.id}/status`, { status: 'hidden' })).status).toBe(200);
      await waitFor('the hiding told', async () => told.includes(listing.id));
    } finally {
      await end();
    }
  });
});

describe('GET /v1/products?q= (search cache)', () => {
  it('when a short query is searched again, then its first page comes from the cache and still goes into the history; an edit shows on the next search', async () => {
    const tag = tagged();
    const listing = await createListing(stack, seller.token, { title: `캐시 검색 ${tag}`, category_id: RECORDS, price: 9_000 });
    const top = async () => (await list({ q: tag }, buyer)).body!.data[0] as Summary | undefined;
    await waitFor('the listing found', async () => (await top())?.id === listing.id);

    const behind = (title: string) => stack.db.query(`UPDATE search_documents SET title = $2 WHERE id = $1`, [listing.id, title]);
    let servedFromCache = false;
    // As for feeds: a concurrent change elsewhere drops every cached page; then try again.
    for (let attempt = 0; attempt < 5 && !servedFromCache; attempt++) {
      if (attempt > 0) {
        await behind(`캐시 검색 ${tag}`);
        await stack.db.query('SELECT pg_notify($1, $2)', [SEARCH_INDEX_CHANGED_CHANNEL, listing.id]);
        await waitFor('the search read again from the index', async () => (await top())?.title === `캐시 검색 ${tag}`);
      }
      await behind('changed behind the cache');
      servedFromCache = (await top())?.title === `캐시 검색 ${tag}`;
    }
    expect(servedFromCache, 'the second search came from the cache').toBe(true);
    // The cached answer still counts as the buyer's search.
    const history = (await stack.api.client({ token: buyer.token }).GET('/users/me/search-history')).data!.data.map((e) => e.query);
    expect(history).toContain(tag);

    expect((await call(seller, 'POST', `/products/${listing.id}/status`, { status: 'hidden' })).status).toBe(200);
    await waitFor('the hidden listing gone from the cached search', async () => (await top()) === undefined);
  });
});

describe('GET /v1/products?cursor= (later pages cache)', () => {
  it('when page 2 of a short search is read again, then it comes from the cache, and a change to a listing on it drops it', async () => {
    const tag = tagged();
    const older = await createListing(stack, seller.token, { title: `둘째 쪽 ${tag}`, category_id: RECORDS, price: 8_000 });
    const newer = await createListing(stack, seller.token, { title: `첫째 쪽 ${tag}`, category_id: RECORDS, price: 9_000 });
    const query: ListQuery = { q: tag, sort: 'recent', limit: 1 };
    const pageOne = async () => (await list(query)).body!;
    await waitFor('both listings found, the newer first', async () => (await pageOne()).data[0]?.id === newer.id && (await pageOne()).next_cursor != null);
    const pageTwo = async () => {
      const cursor = (await pageOne()).next_cursor!;
      return (await list({ ...query, cursor })).body!.data[0] as Summary | undefined;
    };
    expect((await pageTwo())?.id).toBe(older.id);

    const behind = (id: string, title: string) => stack.db.query(`UPDATE search_documents SET title = $2 WHERE id = $1`, [id, title]);
    let servedFromCache = false;
    // As for first pages: a concurrent change elsewhere drops every cached page; then try again.
    for (let attempt = 0; attempt < 5 && !servedFromCache; attempt++) {
      if (attempt > 0) {
        await behind(older.id, `둘째 쪽 ${tag}`);
        await stack.db.query('SELECT pg_notify($1, $2)', [SEARCH_INDEX_CHANGED_CHANNEL, older.id]);
        await waitFor('page 2 read again from the index', async () => (await pageTwo())?.title === `둘째 쪽 ${tag}`);
      }
      await behind(older.id, 'changed behind the cache');
      servedFromCache = (await pageTwo())?.title === `둘째 쪽 ${tag}`;
    }
    expect(servedFromCache, 'page 2 read again came from the cache').toBe(true);
    // The uncached index (a price bound) has the change; the cached page 2 does not.
    expect((await list({ q: tag, min_price: 0, sort: 'recent', limit: 5 })).body!.data.map((p) => p.title)).toContain('changed behind the cache');

    // Hiding the listing on page 2 is announced by the feeder: the cached page 2 is dropped, and
    // the same cursor now finds nothing after the newer listing.
    const cursor = (await pageOne()).next_cursor!;
    expect((await call(seller, 'POST', `/products/${older.id}/status`, { status: 'hidden' })).status).toBe(200);
    await waitFor('page 2 empty', async () => (await list({ ...query, cursor })).body!.data.length === 0);
    expect((await pageOne()).data.map((p) => p.id)).toEqual([newer.id]);
  });
});

describe('GET /v1/search/suggestions', () => {
  it('when typing, then popular searches and listing titles starting with it are suggested, hidden listings never', async () => {
    const tag = tagged();
    const visible = await createListing(stack, seller.token, { title: `${tag} 에어팟 프로 2세대` });
    const hidden = await createListing(stack, seller.token, { title: `${tag} 에어팟 맥스` });
    await eventually('indexed', { q: tag }, [visible.id, hidden.id]);
    expect((await call(seller, 'POST', `/products/${hidden.id}/status`, { status: 'hidden' })).status).toBe(200);
    await eventually('hidden gone', { q: tag }, [visible.id]);
    // A signed-in search that finds something counts as a popular query, once three different
    // users have made it: one user repeating it, or two users, are not enough.
    const suggestions = async () => (await stack.api.client().GET('/search/suggestions', { params: { query: { q: `${tag.toUpperCase()} 에어` } } })).data!.data;
    const [second, third] = await Promise.all([stack.signUp('searcher2'), stack.signUp('searcher3')]);
    // One user searching at once, again, and again after clearing the history, counts once.
    const found = await Promise.all([1, 2, 3].map(() => list({ q: `${tag} 에어팟` }, buyer)));
    for (const r of found) expect(r.body!.data).toHaveLength(1);
    expect((await stack.api.client({ token: buyer.token }).DELETE('/users/me/search-history')).response.status).toBe(204);
    await list({ q: `${tag} 에어팟` }, buyer);
    await list({ q: `${tag} 에어팟` }, second);
    expect((await suggestions()).map((s) => s.kind)).toEqual(['title']);
    await list({ q: `${tag} 에어팟` }, third);

    // Three users, one day: three searches, however often the first searched and cleared.
    expect((await stack.db.query(`SELECT searches, searchers FROM search_queries WHERE query = $1`, [`${tag} 에어팟`])).rows).toEqual([{ searches: 3, searchers: 3 }]);
    expect(await suggestions()).toEqual([
      { object: 'search_suggestion', text: `${tag} 에어팟`, kind: 'query' },
      { object: 'search_suggestion', text: `${tag} 에어팟 프로 2세대`, kind: 'title' },
    ]);
    const word = await stack.api.client().GET('/search/suggestions', { params: { query: { q: '에어팟 프로 2', limit: 20 } } });
    expect(word.data!.data.map((s) => s.text)).toContain(`${tag} 에어팟 프로 2세대`);
  });
});

describe('search history', () => {
  it('when signed-in users search with q, then each sees only their own history, newest first, and clearing removes only their own', async () => {
    const [alice, bob] = await Promise.all([stack.signUp('alice'), stack.signUp('bob')]);
    const a1 = `자전거 ${tagged()}`;
    const a2 = `아이폰 ${tagged()}`;
    const b1 = `냉장고 ${tagged()}`;
    await list({ q: a1 }, alice);
    await list({ q: a2 }, alice);
    await list({ q: b1 }, bob);
    await list({ q: 'anonymous search' });

    const history = async (user: SignedUpUser) => (await stack.api.client({ token: user.token }).GET('/users/me/search-history')).data!.data.map((e) => e.query);
    expect(await history(alice)).toEqual([a2, a1]);
    expect(await history(bob)).toEqual([b1]);
    const paged = await stack.api.client({ token: alice.token }).GET('/users/me/search-history', { params: { query: { limit: 1 } } });
    expect(paged.data!.has_more).toBe(true);

    expect((await stack.api.client({ token: alice.token }).DELETE('/users/me/search-history')).response.status).toBe(204);
    expect(await history(alice)).toEqual([]);
    expect(await history(bob)).toEqual([b1]);
    expectProblem(await call(null, 'GET', '/users/me/search-history'), 401, 'unauthenticated');
  });
  it('when a user searches again on the next Korean day, less than 24 hours later, then the query counts once for each day', async () => {
    const tag = tagged();
    const listing = await createListing(stack, seller.token, { title: `${tag} 캠핑의자` });
    const q = `${tag} 캠핑의자`;
    await eventually('indexed', { q, min_price: 0 }, [listing.id]);
    const searcher = await stack.signUp('daily');
    const searches = async () => (await stack.db.query(`SELECT searches FROM search_queries WHERE query = $1`, [q])).rows[0]?.searches as number | undefined;
    await list({ q }, searcher);
    await list({ q }, searcher);
    expect(await searches()).toBe(1);
    // As if both searches had been made yesterday evening: 20 hours ago, on the day before.
    const yesterday = new Date(Date.now() + 9 * 3_600_000 - 86_400_000).toISOString().slice(0, 10);
    const moved = await stack.db.query(`UPDATE search_query_searchers SET counted_on = $2::date WHERE query = $1`, [q, yesterday]);
    expect(moved.rowCount).toBe(1);
    await stack.db.query(
      `UPDATE doc_search_history SET body = body || jsonb_build_object('searched_at', $3::text) WHERE body->>'user_id' = $1 AND body->>'query' = $2`,
      [searcher.id, q, new Date(Date.now() - 20 * 3_600_000).toISOString()],
    );
    await list({ q }, searcher);
    expect(await searches()).toBe(2);
    await list({ q }, searcher);
    expect(await searches()).toBe(2);
  });
});

describe('search index feeder', () => {
  it('when product events are delivered again or late, then the index does not change (the version is the event position)', async () => {
    const tag = tagged();
    const listing = await createListing(stack, seller.token, { title: `중복 배달 ${tag}` });
    expect((await call(buyer, 'PUT', `/products/${listing.id}/like`)).status).toBeLessThan(300);
    const row = () => stack.db.query(`SELECT version, like_count, title FROM search_documents WHERE id = $1`, [listing.id]).then((r) => r.rows[0] as { version: string; like_count: number; title: string } | undefined);
    const fed = await waitFor('the like indexed', async () => ((await row())?.like_count === 1 ? row() : null));
    const { rows } = await stack.db.query(`SELECT * FROM events WHERE aggregate_type = 'product' AND aggregate_id = $1 ORDER BY position`, [listing.id]);
    const events = rows.map(toStoredEvent);
    expect(events.map((e) => e.type)).toEqual(['product.created', 'product.liked']);

    const log = createLogger('silent', 'test');
    const sequelize = createSequelize({ url: stack.api.config.DATABASE_URL, poolMax: 2 }, log);
    try {
      const apply = createIndexFeeder(sequelize);
      const index = new PostgresSearchIndex({ sequelize });
      for (const event of [...events, ...events].reverse()) expect(await apply(event, index)).toBeNull();
    } finally {
      await sequelize.close();
    }
    expect(await row()).toEqual(fed);
  });
});

describe('search index feeder, events out of order', () => {
  const docRow = (id: string) =>
    stack.db.query(`SELECT version, status, like_count FROM search_documents WHERE id = $1`, [id]).then((r) => r.rows[0] as { version: string; status: string; like_count: number } | undefined);
  const eventsOf = async (id: string) =>
    (await stack.db.query(`SELECT * FROM events WHERE aggregate_type = 'product' AND aggregate_id = $1 ORDER BY position`, [id])).rows.map(toStoredEvent);
  const withFeeder = async (run: (apply: ReturnType<typeof createIndexFeeder>, index: PostgresSearchIndex) => Promise<void>) => {
    const sequelize = createSequelize({ url: stack.api.config.DATABASE_URL, poolMax: 2 }, createLogger('silent', 'test'));
    try {
      await run(createIndexFeeder(sequelize), new PostgresSearchIndex({ sequelize }));
    } finally {
      await sequelize.close();
    }
  };

  it('when a listing\'s status change arrives after a later like (a failed batch retried one by one), then the late change is not lost: the document is rebuilt from the listing\'s events', async () => {
    const listing = await createListing(stack, seller.token, { title: `늦은 이벤트 ${tagged()}` });
    expect((await call(seller, 'POST', `/products/${listing.id}/status`, { status: 'reserved' })).status).toBe(200);
    expect((await call(buyer, 'PUT', `/products/${listing.id}/like`)).status).toBeLessThan(300);
    await waitFor('the live feeder done', async () => (await docRow(listing.id))?.like_count === 1);
    const [created, reserved, liked] = await eventsOf(listing.id);
    expect([created!.type, reserved!.type, liked!.type]).toEqual(['product.created', 'product.status_changed', 'product.liked']);

    // As the index was when the status change failed and the like went through before it.
    await stack.db.query('DELETE FROM search_documents WHERE id = $1', [listing.id]);
    await withFeeder(async (apply, index) => {
      await apply(created!, index);
      await apply(liked!, index);
      expect(await docRow(listing.id)).toEqual({ version: String(liked!.position), status: 'on_sale', like_count: 1 });
      // The late one: before, the version rule dropped it and the listing stayed on sale for good.
      expect(await apply(reserved!, index)).toMatchObject({ id: listing.id });
      expect(await docRow(listing.id)).toEqual({ version: String(liked!.position), status: 'reserved', like_count: 1 });
      // Delivered once more: the document already holds it, so nothing is written or announced.
      expect(await apply(reserved!, index)).toBeNull();
      // A like that repairs the document brings the status change with it: not a count-only
      // change, so the feeder announces it (a like alone keeps the cached feeds).
      await stack.db.query('DELETE FROM search_documents WHERE id = $1', [listing.id]);
      expect(await apply(liked!, index)).toMatchObject({ id: listing.id, countsOnly: false });
      expect(await docRow(listing.id)).toEqual({ version: String(liked!.position), status: 'reserved', like_count: 1 });
    });
  });

  it('when a listing is hidden and the hiding arrives before the listing itself, then it never shows in search', async () => {
    const tag = tagged();
    const listing = await createListing(stack, seller.token, { title: `숨김 먼저 ${tag}` });
    expect((await call(seller, 'POST', `/products/${listing.id}/status`, { status: 'hidden' })).status).toBe(200);
    await waitFor('the live feeder done', async () => (await docRow(listing.id))?.status === 'hidden');
    const [created, hidden] = await eventsOf(listing.id);

    await stack.db.query('DELETE FROM search_documents WHERE id = $1', [listing.id]);
    await withFeeder(async (apply, index) => {
      // No document yet: the hiding used to be acknowledged as done with nothing to change.
      expect(await apply(hidden!, index)).toMatchObject({ id: listing.id });
      expect(await docRow(listing.id)).toEqual({ version: String(hidden!.position), status: 'hidden', like_count: 0 });
      expect(await apply(created!, index)).toBeNull();
      expect(await docRow(listing.id)).toEqual({ version: String(hidden!.position), status: 'hidden', like_count: 0 });
    });
    expect(await ids({ q: tag, min_price: 0 })).toEqual([]);
  });
});

describe('search index feeder, writes outside the inbox transaction (as with Elasticsearch)', () => {
  // A seller of their own: each seller may post only so many listings a day.
  let writer: Seller;
  beforeAll(async () => {
    writer = await sellerWithNeighbourhood(stack, 'feeder');
  });
  const docRow = (id: string) =>
    stack.db.query(`SELECT version, status, like_count, searchable FROM search_documents WHERE id = $1`, [id]).then((r) => r.rows[0] as { version: string; status: string; like_count: number; searchable: boolean } | undefined);
  const eventsOf = async (id: string) =>
    (await stack.db.query(`SELECT * FROM events WHERE aggregate_type = 'product' AND aggregate_id = $1 ORDER BY position`, [id])).rows.map(toStoredEvent);
  const withSequelize = async (run: (sequelize: ReturnType<typeof createSequelize>) => Promise<void>) => {
    const sequelize = createSequelize({ url: stack.api.config.DATABASE_URL, poolMax: 3 }, createLogger('silent', 'test'));
    try {
      await run(sequelize);
    } finally {
      await sequelize.close();
    }
  };

  /** A listing liked, then hidden, then unliked (allowed on a hidden listing), its events, and the index as it was before the hiding. */
  async function likedHiddenUnliked() {
    const listing = await createListing(stack, writer.token, { title: `경합 ${tagged()}` });
    expect((await call(buyer, 'PUT', `/products/${listing.id}/like`)).status).toBeLessThan(300);
    expect((await call(writer, 'POST', `/products/${listing.id}/status`, { status: 'hidden' })).status).toBe(200);
    expect((await call(buyer, 'DELETE', `/products/${listing.id}/like`)).status).toBeLessThan(300);
    const events = await waitFor('all four events, and the live feeder done', async () => {
      const all = await eventsOf(listing.id);
      const row = await docRow(listing.id);
      return all.length === 4 && row?.version === String(all[3]!.position) ? all : null;
    });
    expect(events.map((e) => e.type)).toEqual(['product.created', 'product.liked', 'product.status_changed', 'product.unliked']);
    return { listing, events: events as [StoredEvent, StoredEvent, StoredEvent, StoredEvent] };
  }

  it('when a hiding loses its compare-and-set to a later event (the write computes the change, then finds a newer version), then the document is repaired and the listing is not searchable', async () => {
    const { listing, events } = await likedHiddenUnliked();
    const [created, liked, hidden, unliked] = events;
    await stack.db.query('DELETE FROM search_documents WHERE id = $1', [listing.id]);
    await withSequelize(async (sequelize) => {
      const apply = createIndexFeeder(sequelize);
      const real = new PostgresSearchIndex({ sequelize });
      await apply(created, real);
      await apply(liked, real);
      // Elasticsearch's update: reads the document, calls the change, its conditional write gets
      // a 409 because the unlike was written meanwhile, reads again, finds the unlike's version
      // (past the hiding's) and gives up.
      class LosesTheRace extends PostgresSearchIndex {
        private raced = false;
        override async update(id: string, version: number, change: (d: SearchDocument) => SearchDocument | null, opts?: WriteOptions): Promise<boolean> {
          if (this.raced) return super.update(id, version, change, opts);
          this.raced = true;
          const current = await this.get(id, opts);
          if (current && current.version < version) change(current);
          await apply(unliked, real);
          return false;
        }
      }
      // Before, the change having been computed counted as the document reached: no repair, and
      // the hiding was acknowledged with no effect.
      expect(await apply(hidden, new LosesTheRace({ sequelize }))).toMatchObject({ id: listing.id });
    });
    expect(await docRow(listing.id)).toEqual({ version: String(unliked.position), status: 'hidden', like_count: 0, searchable: false });
  });

  it('when a batch fails after its write reached the index (not rolled back with it), then the retry announces the change even though the index already holds it', async () => {
    const listing = await createListing(stack, writer.token, { title: `재시도 ${tagged()}` });
    expect((await call(writer, 'POST', `/products/${listing.id}/status`, { status: 'hidden' })).status).toBe(200);
    await waitFor('the live feeder done', async () => (await docRow(listing.id))?.status === 'hidden');
    const [created, hidden] = await eventsOf(listing.id);
    expect([created!.type, hidden!.type]).toEqual(['product.created', 'product.status_changed']);
    await stack.db.query('DELETE FROM search_documents WHERE id = $1', [listing.id]);
    const { told, caughtUp, end } = await listenToIndexChanges();
    try {
      await withSequelize(async (sequelize) => {
        await createIndexFeeder(sequelize)(created!, new PostgresSearchIndex({ sequelize }));
        // Writes that commit on their own, whatever the transaction does (as Elasticsearch's).
        const real = new PostgresSearchIndex({ sequelize });
        const outside: SearchIndex = Object.assign(Object.create(real) as PostgresSearchIndex, {
          get: (id: string) => real.get(id),
          index: (doc: SearchDocument) => real.index(doc),
          restore: (doc: SearchDocument) => real.restore(doc),
          update: (id: string, version: number, change: (d: SearchDocument) => SearchDocument | null) => real.update(id, version, change),
          remove: (id: string, version: number) => real.remove(id, version),
        });
        const feeder = searchIndexSubscription({ sequelize, index: outside });
        const log = createLogger('silent', 'test');
        // The batch fails after the hiding was written: its NOTIFY rolls back, the write stays.
        await expect(
          sequelize.transaction(async (transaction) => {
            await feeder.handle(hidden!, { transaction, log });
            throw new Error('a later delivery of the batch failed');
          }),
        ).rejects.toThrow('a later delivery');
        expect(await docRow(listing.id)).toMatchObject({ status: 'hidden', searchable: false });
        // Retried alone: the index already holds it.
        await sequelize.transaction((transaction) => feeder.handle(hidden!, { transaction, log }));
      });
      await caughtUp('the sentinel');
      // Before, nothing was told: cached pages kept the hidden listing until their TTL.
      expect(told).toContain(listing.id);
    } finally {
      await end();
    }
  });
});

describe('search index feeder, an index whose writes show in searches after they are acknowledged (as Elasticsearch\'s)', () => {
  let writer: Seller;
  beforeAll(async () => {
    writer = await sellerWithNeighbourhood(stack, 'visible');
  });
  it('when a change commits before it shows in searches, then it is told at once and told again once it shows, and a batch that fails tells nothing', async () => {
    const listing = await createListing(stack, writer.token, { title: `보임 ${tagged()}` });
    await waitFor('the live feeder done', async () => (await stack.db.query('SELECT 1 FROM search_documents WHERE id = $1', [listing.id])).rowCount === 1);
    const { rows } = await stack.db.query(`SELECT * FROM events WHERE aggregate_type = 'product' AND aggregate_id = $1 ORDER BY position`, [listing.id]);
    const [created] = rows.map(toStoredEvent);
    await stack.db.query('DELETE FROM search_documents WHERE id = $1', [listing.id]);
    const { told, caughtUp, end } = await listenToIndexChanges();
    const settle = async (what: string) => {
      await caughtUp(what);
      return told.filter((id) => id === listing.id).length;
    };
    const sequelize = createSequelize({ url: stack.api.config.DATABASE_URL, poolMax: 3 }, createLogger('silent', 'test'));
    try {
      let show!: () => void;
      const refreshed = new Promise<void>((r) => (show = r));
      let asked = 0;
      const real = new PostgresSearchIndex({ sequelize });
      const later: SearchIndex = Object.assign(Object.create(real) as PostgresSearchIndex, { whenVisible: () => (asked++, refreshed) });
      const feeder = searchIndexSubscription({ sequelize, index: later });
      const log = createLogger('silent', 'test');
      await expect(
        sequelize.transaction(async (transaction) => {
          await feeder.handle(created!, { transaction, log });
          throw new Error('the batch failed');
        }),
      ).rejects.toThrow('the batch failed');
      expect(asked).toBe(0);
      await sequelize.transaction((transaction) => feeder.handle(created!, { transaction, log }));
      expect(await settle('the commit told')).toBe(1);
      show();
      await waitFor('told again once visible', async () => told.filter((id) => id === listing.id).length === 2);
      expect(await settle('nothing more')).toBe(2);
      expect(asked).toBe(1);
    } finally {
      await sequelize.close();
      await end();
    }
  });
});

describe('search index rebuild', () => {
  it('when the index is rebuilt from the event store, then it holds the same listings as the feeder made, and damage to it is repaired', async () => {
    const tag = tagged();
    const a = await createListing(stack, seller.token, { title: `재구축 ${tag}`, price: 1_000 });
    const b = await createListing(stack, seller.token, { title: `재구축 ${tag}`, price: 2_000 });
    expect((await call(seller, 'POST', `/products/${b.id}/status`, { status: 'hidden' })).status).toBe(200);
    await eventually('fed', { q: tag }, [a.id]);
    await waitFor('b hidden in the index', async () => (await stack.db.query(`SELECT status FROM search_documents WHERE id = $1`, [b.id])).rows[0]?.status === 'hidden');
    await stack.db.query(`UPDATE search_documents SET price = 999, status = 'hidden' WHERE id = $1`, [a.id]);
    // What the index holds, not a cached first page: a price range is never cached.
    const indexed = { q: tag, min_price: 0 };
    expect(await ids(indexed)).toEqual([]);

    // A concurrent index build that failed leaves an invalid index: the rebuild must not copy it
    // (as a valid one it would fail the rebuild here, on duplicate values).
    await stack.db.query('CREATE UNIQUE INDEX CONCURRENTLY search_documents_failed_build ON search_documents ((1))').catch(() => undefined);
    expect((await stack.db.query(`SELECT 1 FROM pg_index WHERE indexrelid = 'search_documents_failed_build'::regclass AND NOT indisvalid`)).rowCount).toBe(1);

    const log = createLogger('silent', 'test');
    const sequelize = createSequelize({ url: stack.api.config.DATABASE_URL, poolMax: 2 }, log);
    try {
      const { applied } = await rebuildSearchIndex(searchIndexFor(stack.api.config, sequelize, log), sequelize);
      expect(applied).toBeGreaterThan(0);
    } finally {
      await sequelize.close();
      await stack.db.query('DROP INDEX IF EXISTS search_documents_failed_build');
    }
    const { body } = await list(indexed);
    expect(body!.data.map((p) => [p.id, p.price, p.status])).toEqual([[a.id, 1_000, 'on_sale']]);
    const { rows } = await stack.db.query(`SELECT indexname FROM pg_indexes WHERE tablename = 'search_documents' ORDER BY 1`);
    expect(rows.map((r: { indexname: string }) => r.indexname)).toContain('search_documents_search_compact_trgm');
    expect(rows.map((r: { indexname: string }) => r.indexname)).not.toContain('search_documents_failed_build');
    // The columns' statistics samples too (migrations 0014 and 0032).
    const stats = await stack.db.query(`SELECT attname, attstattarget FROM pg_attribute WHERE attrelid = 'search_documents'::regclass AND attstattarget > 0 ORDER BY 1`);
    expect(stats.rows).toEqual([{ attname: 'search_compact', attstattarget: 1000 }, { attname: 'search_text', attstattarget: 1000 }]);
    // The live feeder keeps writing to the rebuilt table.
    const c = await createListing(stack, seller.token, { title: `재구축 ${tag}`, price: 3_000 });
    await eventually('fed after the rebuild', { q: tag }, [a.id, c.id]);
  });
});

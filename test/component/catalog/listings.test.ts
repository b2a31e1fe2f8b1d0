import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { productCacheKey } from '../../../src/modules/products';
import { ProductDetailCache } from '../../../src/modules/products/data/detail-cache';
import { createLogger } from '../../../src/platform/logger';
import { connectRedis } from '../../../src/platform/redis';
import { categoryId, createListing, DIGITAL, listingInput, MANGWON, PHONES, sellerWithNeighbourhood, type Seller } from '../../support/catalog';
import { expectProblem, v1Caller } from '../../support/http';
import { staffAccounts, startIdentityStack, type IdentityStack, type SignedUpUser } from '../../support/identity';
import { waitFor } from '../../support/wait';

let stack: IdentityStack;
let redis: Awaited<ReturnType<typeof connectRedis>>;

beforeAll(async () => {
  stack = await startIdentityStack();
  redis = await connectRedis(stack.api.config.REDIS_URL);
});
afterAll(async () => {
  await redis?.quit();
  await stack?.stop();
});

type Json = Record<string, unknown>;
const call = v1Caller(() => stack.api.url);
const post = (user: SignedUpUser, body: unknown, headers: Record<string, string> = {}) => call(user, 'POST', '/products', body, headers);
const get = (user: SignedUpUser | null, id: string, headers: Record<string, string> = {}) => call(user, 'GET', `/products/${id}`, undefined, headers);
const row = async (id: string) => (await stack.db.query('SELECT * FROM products WHERE id = $1', [id])).rows[0] as Json | undefined;
const events = async (id: string, type?: string) =>
  (
    await stack.db.query(`SELECT type, payload FROM events WHERE aggregate_type = 'product' AND aggregate_id = $1 ${type ? 'AND type = $2' : ''} ORDER BY aggregate_version`, type ? [id, type] : [id])
  ).rows as { type: string; payload: Json }[];
/** The body a PUT sends to keep everything as it is but the overrides. */
const editable = (p: Json, overrides: Json = {}) => ({
  title: p.title,
  description: p.description,
  category_id: (p.category as Json).id,
  price: p.price,
  offers_allowed: p.offers_allowed,
  condition: p.condition,
  trade_methods: p.trade_methods,
  shipping_fee: p.shipping_fee,
  quantity: p.quantity,
  ...overrides,
});
const put = (user: SignedUpUser, p: Json, overrides: Json, etag?: string) =>
  call(user, 'PUT', `/products/${String(p.id)}`, editable(p, overrides), etag ? { 'if-match': etag } : {});
const status = (user: SignedUpUser | null, id: string, body: Json) => call(user, 'POST', `/products/${id}/status`, body);
const bump = (user: SignedUpUser, id: string, body?: Json) => call(user, 'POST', `/products/${id}/bump`, body ?? {});
/** Moves the listing's last bump (or posting) back in time, as if that many hours had passed. */
const ageBump = (id: string, hours: number) => stack.db.query(`UPDATE products SET bumped_at = now() - make_interval(hours => $2) WHERE id = $1`, [id, hours]);

// Two sellers per group of tests: the API's per-user rate limit (100 requests a minute) would
// otherwise be what a later test measures.
let sellerA: Seller;
let sellerB: Seller;
const freshSellers = async () => {
  [sellerA, sellerB] = await Promise.all([sellerWithNeighbourhood(stack, 'sellera'), sellerWithNeighbourhood(stack, 'sellerb')]);
};

describe('POST /v1/products', () => {
  beforeAll(freshSellers);

  it('when a seller with a verified neighbourhood posts, then the listing is placed at the dong point and product.created carries the whole state', async () => {
    const input = listingInput({ trade_methods: ['meet_up', 'parcel'], shipping_fee: 3500 });
    const res = await post(sellerA, input);
    expect(res.status).toBe(201);
    const p = res.json;
    expect(p).toMatchObject({
      object: 'product',
      seller: { id: sellerA.id, nickname: sellerA.nickname, identity_verified: false },
      title: input.title,
      description: input.description,
      category: { id: PHONES, name: '휴대폰', path: 'digital/phones' },
      price: 850_000,
      offers_allowed: true,
      free: false,
      condition: 'like_new',
      trade_methods: ['meet_up', 'parcel'],
      shipping_fee: 3500,
      location: { dong_code: MANGWON.dongCode, dong_name: '망원제2동', sigungu: '마포구', lat: 37.558, lng: 126.904 },
      quantity: 1,
      status: 'on_sale',
      moderation: 'ok',
      images: [],
      like_count: 0,
      view_count: 0,
      chat_count: 0,
    });
    expect(p.id).toMatch(/^prd_[0-9A-Z]{20}$/);
    expect(res.headers.get('etag')).toMatch(/^"v1-[A-Za-z0-9_-]+"$/);
    const stored = (await row(String(p.id)))!;
    // The dong's representative point, not where the seller stood when verifying.
    expect(stored).toMatchObject({ seller_id: sellerA.id, dong_code: MANGWON.dongCode, lat: 37.557564, lng: 126.904311, version: 1, moderation: 'ok' });
    const [created] = await events(String(p.id), 'product.created');
    expect(created!.payload).toMatchObject({
      product_id: p.id,
      seller_id: sellerA.id,
      title: input.title,
      category_id: PHONES,
      category_path: 'digital/phones',
      price: 850_000,
      trade_methods: ['meet_up', 'parcel'],
      dong_code: MANGWON.dongCode,
      lat: 37.557564,
      lng: 126.904311,
      quantity: 1,
      status: 'on_sale',
      bumped_at: expect.any(String),
      created_at: expect.any(String),
    });
  });

  it('when the response is read, then it holds neither the verification coordinates nor private data of the seller', async () => {
    const res = await post(sellerA, listingInput());
    expect(res.status).toBe(201);
    const text = (await get(null, String(res.json.id))).text;
    expect(text).not.toContain(String(MANGWON.lat));
    expect(text).not.toContain(String(MANGWON.lng));
    expect(text).not.toContain('37.557564');
    expect(text).not.toContain(sellerA.email);
    expect(text).not.toMatch(/"(email|phone|buyer_id|moderation)"/);
  });

  it('when the price is 0, then it is a free giveaway (나눔)', async () => {
    const res = await post(sellerA, listingInput({ price: 0, offers_allowed: false }));
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ price: 0, free: true, offers_allowed: false });
  });

  it('when the user has no verified neighbourhood, then it is 403 neighbourhood_verification_required and nothing is stored', async () => {
    const user = await stack.signUp('nohood');
    expectProblem(await post(user, listingInput()), 403, 'neighbourhood_verification_required');
    expect((await stack.db.query('SELECT count(*)::int AS n FROM products WHERE seller_id = $1', [user.id])).rows[0].n).toBe(0);
  });

  it.each([
    ['a one-character title', { title: '폰' }],
    ['a 101-character title', { title: 'ㄱ'.repeat(101) }],
    ['a blank title', { title: '   ' }],
    // A control character anywhere, even as the title's only non-space character (the fuzzer found
    // titles with one DEL or STX accepted; they broke every list they appeared in).
    ['a title starting with a control character', { title: '\x7F아이폰 팝니다' }],
    ['a title with a control character inside', { title: '아이폰\x02팝니다' }],
    // Characters that show nothing: a title of them would look blank in every list.
    ['a title of Hangul fillers', { title: '\u3164\u3164' }],
    ['a title of zero-width spaces', { title: '\u200b\u200b\u200b' }],
    ['a title with one visible character', { title: '\u200b폰\u200b' }],
    ['a title on two lines (line separator)', { title: '아이폰\u2028팝니다' }],
    ['a title on two lines (next line)', { title: '아이폰\u0085팝니다' }],
    // Both limits fail at once (the validator reports all errors): the pattern must still answer at
    // once on a long input, where a backtracking one took seconds per thousand characters.
    ['a 5,000-character title on two lines', { title: `${'가'.repeat(5_000)}\n` }],
    ['a 4,001-character description', { description: '가'.repeat(4001) }],
    ['a negative price', { price: -1 }],
    ['a fractional price', { price: 1000.5 }],
    ['a price over 1,000,000,000', { price: 1_000_000_001 }],
    ['a price as a string', { price: '850000' }],
    ['quantity 0', { quantity: 0 }],
    ['quantity 1000', { quantity: 1000 }],
    ['no trade method', { trade_methods: [] }],
    ['an unknown trade method', { trade_methods: ['drone'] }],
    ['a repeated trade method', { trade_methods: ['parcel', 'parcel'] }],
    ['an unknown condition', { condition: 'mint' }],
    ['a malformed category id', { category_id: 'phones' }],
  ])('when the body has %s, then it is 400 and nothing is stored', async (_what, overrides) => {
    const input = listingInput(overrides);
    const res = await post(sellerA, input);
    expectProblem(res, 400, 'validation_failed');
    expect((await stack.db.query('SELECT count(*)::int AS n FROM products WHERE title = $1', [input.title])).rows[0].n).toBe(0);
  });

  it.each([
    ['seller_id', { seller_id: 'usr_7M2K9QD4TBV3N1PX8ZRA' }],
    ['status', { status: 'sold' }],
    ['like_count', { like_count: 1000 }],
    ['view_count', { view_count: 1000 }],
    ['created_at', { created_at: '2020-01-01T00:00:00Z' }],
    ['bumped_at', { bumped_at: '2030-01-01T00:00:00Z' }],
    ['lat', { lat: 37.5 }],
    ['moderation', { moderation: 'ok' }],
  ])('when the body sets %s (mass assignment), then it is 400 and nothing is stored', async (_field, extra) => {
    const input = listingInput(extra);
    expectProblem(await post(sellerA, input), 400, 'validation_failed');
    expect((await stack.db.query('SELECT count(*)::int AS n FROM products WHERE title = $1', [input.title])).rows[0].n).toBe(0);
  });

  it('when the category has sub-categories, then it is 422 category_not_leaf; an unknown category is 422 invalid_category', async () => {
    const notLeaf = await post(sellerA, listingInput({ category_id: DIGITAL }));
    expectProblem(notLeaf, 422, 'category_not_leaf');
    expect(notLeaf.json.errors).toEqual([expect.objectContaining({ pointer: '/category_id', code: 'category_not_leaf' })]);
    expectProblem(await post(sellerA, listingInput({ category_id: 'cat_0000000000000000' })), 422, 'invalid_category');
  });

  it('when a shipping fee comes without a shipping trade method, then it is 422 shipping_fee_not_applicable', async () => {
    const res = await post(sellerA, listingInput({ trade_methods: ['meet_up'], shipping_fee: 3000 }));
    expectProblem(res, 422, 'shipping_fee_not_applicable');
    expect(res.json.errors).toEqual([expect.objectContaining({ pointer: '/shipping_fee' })]);
    expect((await post(sellerA, listingInput({ trade_methods: ['convenience_store'], shipping_fee: 3000 }))).status).toBe(201);
  });

  it.each([
    ['alcohol in the title', { title: '발렌타인 17년 양주 팝니다' }, '/title', 'prohibited_alcohol'],
    ['soju', { title: '참이슬 소주 한 박스' }, '/title', 'prohibited_alcohol'],
    ['tobacco', { title: '전자담배 기기 팝니다' }, '/title', 'prohibited_tobacco'],
    ['a weapon', { title: '공기총 판매합니다' }, '/title', 'prohibited_weapons'],
    ['drugs', { description: '대마 구합니다' }, '/description', 'prohibited_drugs'],
    ['prescription medicine', { title: '처방약 남은 것 팔아요' }, '/title', 'prohibited_medicine'],
    ['counterfeit wording', { title: '샤넬 클래식 레플리카 가방' }, '/title', 'counterfeit'],
    ['English counterfeit wording', { title: 'Rolex replica watch' }, '/title', 'counterfeit'],
    ['an account for sale', { title: '리니지 계정 판매' }, '/title', 'personal_data_sale'],
    ['a phone number', { description: '연락은 010-1234-5678 로 주세요' }, '/description', 'phone_number'],
    ['a spaced-out phone number', { description: '연락 0 1 0 1 2 3 4 5 6 7 8' }, '/description', 'phone_number'],
    ['a phone number in full-width digits', { description: '연락 ０１０－９８７６－５４３２' }, '/description', 'phone_number'],
    ['a phone number with o for zero', { description: '연락 o1o-1234-5678' }, '/description', 'phone_number'],
    ['a bank account', { description: '국민 123456-01-234567 으로 입금해주세요' }, '/description', 'bank_account'],
    ['an open-chat link', { description: '오픈채팅 https://open.kakao.com/o/sAbCdEf 로 와주세요' }, '/description', 'off_platform_link'],
    ['a Telegram link', { description: '문의는 t.me/junggo_deal' }, '/description', 'off_platform_link'],
  ])('when the text has %s, then it is 422 listing_prohibited naming the field and rule, and nothing is stored', async (_what, overrides, pointer, code) => {
    const input = listingInput(overrides);
    const res = await post(sellerA, input);
    expectProblem(res, 422, 'listing_prohibited');
    expect(res.json.errors).toContainEqual(expect.objectContaining({ pointer, code }));
    expect((await stack.db.query('SELECT count(*)::int AS n FROM products WHERE title = $1', [input.title])).rows[0].n).toBe(0);
  });

  it('when both fields break rules, then every finding is listed', async () => {
    const res = await post(sellerA, listingInput({ title: '와인 팝니다', description: '010-2222-3333 문자주세요' }));
    expectProblem(res, 422, 'listing_prohibited');
    expect(res.json.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ pointer: '/title', code: 'prohibited_alcohol' }), expect.objectContaining({ pointer: '/description', code: 'phone_number' })]),
    );
  });

  it.each([
    ['a wine glass', { title: '와인잔 6개 세트' }],
    ['technology and art books', { title: '미술 기술 교양서 세트', description: '술술 읽히는 책입니다' }],
    ['a pillow nicknamed 마약', { title: '마약베개 새상품' }],
    ['a denial of fakes', { description: '백화점 구매 정품입니다. 가품 아닙니다.' }],
    ['a massage gun', { title: '마사지건 팝니다', description: 'massage gun, 3 heads' }],
  ])('when the text only looks close to a rule (%s), then the listing is posted unflagged', async (_what, overrides) => {
    const res = await post(sellerA, listingInput(overrides));
    expect(res.status).toBe(201);
    expect(res.json.moderation).toBe('ok');
  });

  it('when the text names a messenger id or a web link, then the listing is posted but flagged, which only the seller sees', async () => {
    const messenger = await post(sellerA, listingInput({ description: '궁금하신 점은 카톡 아이디 mangwon77 로 연락주세요' }));
    expect(messenger.status).toBe(201);
    expect(messenger.json.moderation).toBe('flagged');
    expect((await row(String(messenger.json.id)))!.moderation).toBe('flagged');
    const link = await post(sellerA, listingInput({ description: '스펙은 https://www.apple.com/kr/iphone 참고하세요' }));
    expect(link.json.moderation).toBe('flagged');
    const public_ = await get(sellerB, String(messenger.json.id));
    expect(public_.status).toBe(200);
    expect(public_.json).not.toHaveProperty('moderation');
  });

  it('when the seller posts the same title with a near-identical description within 24 h, then it is 409 duplicate_listing; a different description is fine', async () => {
    const seller = await sellerWithNeighbourhood(stack, 'dup');
    const first = await createListing(stack, seller.token, { title: '닌텐도 스위치 OLED 화이트', description: '작년 12월 구매, 케이스 포함. 박스 있습니다. 직거래는 망원역에서 가능합니다.' });
    const again = await post(seller, listingInput({ title: '닌텐도  스위치 OLED 화이트 ', description: '작년 12월 구매, 케이스 포함. 박스 있습니다. 직거래는 망원역에서 가능합니다!' }));
    expectProblem(again, 409, 'duplicate_listing');
    expect(String(again.json.detail)).toContain(first.id);
    const other = await post(seller, listingInput({ title: '닌텐도 스위치 OLED 화이트', description: '조이콘 쏠림 있어서 싸게 내놓습니다. 택배 가능.' }));
    expect(other.status).toBe(201);
    // Another seller may post the very same text.
    expect((await post(sellerB, listingInput({ title: '닌텐도 스위치 OLED 화이트', description: '작년 12월 구매, 케이스 포함. 박스 있습니다. 직거래는 망원역에서 가능합니다.' }))).status).toBe(201);
  });

  it('when the duplicate is older than 24 hours, then posting again is allowed, but bumping the original beside the copy is not; deleting and reposting within the day (a second bump) is not', async () => {
    const seller = await sellerWithNeighbourhood(stack, 'dup2');
    const text = { title: '아이패드 에어 5세대 64GB', description: '액정 깨끗, 배터리 92%' };
    const old = await createListing(stack, seller.token, text);
    await stack.db.query(`UPDATE products SET created_at = now() - interval '25 hours', bumped_at = now() - interval '25 hours' WHERE id = $1`, [old.id]);
    const second = await createListing(stack, seller.token, text);
    expect(second.id).not.toBe(old.id);
    // Bumping the original now would put both copies at the top of the feeds.
    const bump = await call(seller, 'POST', `/products/${old.id}/bump`, {});
    expectProblem(bump, 409, 'duplicate_listing');
    expect(String(bump.json.detail)).toContain(second.id);
    // Deleted and posted again at once: it would jump to the top of every feed and alert again.
    expect((await call(seller, 'DELETE', `/products/${second.id}`)).status).toBe(204);
    const repost = await post(seller, listingInput(text));
    expectProblem(repost, 409, 'duplicate_listing');
    expect(String(repost.json.detail)).not.toContain(second.id);
    // Once the deleted one's last posting or bump is a day old, the text is free again.
    await stack.db.query(`UPDATE products SET created_at = now() - interval '25 hours', bumped_at = now() - interval '25 hours' WHERE id = $1`, [second.id]);
    expect((await post(seller, listingInput(text))).status).toBe(201);
  });

  it('when a copy of a day-old listing is posted and deleted, then bumping the original is 409 duplicate_listing (the text would be at the top twice in a day), and allowed once the copy is a day old', async () => {
    const seller = await sellerWithNeighbourhood(stack, 'dup4');
    const text = { title: `전동킥보드 나인봇 ${randomBytes(3).toString('hex')}`, description: '주행거리 300km, 충전기 포함. 직거래만 합니다.' };
    const old = await createListing(stack, seller.token, text);
    await stack.db.query(`UPDATE products SET created_at = now() - interval '25 hours', bumped_at = now() - interval '25 hours' WHERE id = $1`, [old.id]);
    const copy = await createListing(stack, seller.token, text);
    expect((await call(seller, 'DELETE', `/products/${copy.id}`)).status).toBe(204);
    const bump = await call(seller, 'POST', `/products/${old.id}/bump`, {});
    expectProblem(bump, 409, 'duplicate_listing');
    expect(((await row(old.id))!.bumped_at as Date).getTime()).toBeLessThan(Date.now() - 24 * 3600_000);
    await stack.db.query(`UPDATE products SET created_at = now() - interval '25 hours', bumped_at = now() - interval '25 hours' WHERE id = $1`, [copy.id]);
    expect((await call(seller, 'POST', `/products/${old.id}/bump`, {})).status).toBe(200);
  });

  it('when the title differs only in its spacing, then it is 409 duplicate_listing', async () => {
    const seller = await sellerWithNeighbourhood(stack, 'dup5');
    const tag = randomBytes(3).toString('hex');
    const description = `배터리 효율 91%, 케이스 같이 드려요. ${tag}`;
    const first = await createListing(stack, seller.token, { title: `아이폰 14 프로 256GB ${tag}`, description });
    const again = await post(seller, listingInput({ title: `아이폰14프로 256 GB ${tag}`, description }));
    expectProblem(again, 409, 'duplicate_listing');
    expect(String(again.json.detail)).toContain(first.id);
  });

  it('when a listing posted more than 24 hours ago was just bumped, then a copy of it is 409 duplicate_listing (it would sit beside it at the top)', async () => {
    const seller = await sellerWithNeighbourhood(stack, 'dup3');
    const text = { title: '캠핑 의자 2개 일괄', description: '한 번 사용했어요. 수납가방 포함.' };
    const old = await createListing(stack, seller.token, text);
    await stack.db.query(`UPDATE products SET created_at = now() - interval '25 hours', bumped_at = now() - interval '25 hours' WHERE id = $1`, [old.id]);
    expect((await call(seller, 'POST', `/products/${old.id}/bump`, {})).status).toBe(200);
    const copy = await post(seller, listingInput(text));
    expectProblem(copy, 409, 'duplicate_listing');
    expect(String(copy.json.detail)).toContain(old.id);
  });

  it('when the text differs only by invisible characters, punctuation, symbols or emoji, then it is still 409 duplicate_listing; another digit is a new listing', async () => {
    const seller = await sellerWithNeighbourhood(stack, 'dup3');
    const tag = randomBytes(3).toString('hex');
    const description = `상태 좋아요. 직거래는 망원역에서 가능합니다. ${tag}`;
    const first = await createListing(stack, seller.token, { title: `아이폰14 팝니다 ${tag}`, description });
    const variants = [
      { title: `아이폰\u200b14 팝니다 ${tag}`, description },
      { title: `아이폰14 팝니다! ${tag}`, description: `상태 좋아요! 직거래는 망원역에서 가능합니다!! ${tag}` },
      { title: `★아이폰14 팝니다★ 📱 ${tag}`, description: `「상태 좋아요~ 직거래는 망원역에서 가능합니다…」 ${tag}` },
      // A Hangul filler, a variation selector, a soft hyphen and a BOM.
      { title: `아이폰\u316414 팝니다\ufe0f ${tag}`, description: `상\u00ad태 좋아요. 직거래는\ufeff 망원역에서 가능합니다. ${tag}` },
    ];
    for (const text of variants) {
      const res = await post(seller, listingInput(text));
      expectProblem(res, 409, 'duplicate_listing');
      expect(String(res.json.detail)).toContain(first.id);
    }
    expect((await post(seller, listingInput({ title: `아이폰15 팝니다 ${tag}`, description }))).status).toBe(201);
  });

  it('when the same Idempotency-Key is retried, then the first listing is replayed instead of a duplicate refusal', async () => {
    const key = `listing-${randomBytes(6).toString('hex')}`;
    const input = listingInput();
    const first = await post(sellerA, input, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    const retry = await post(sellerA, input, { 'idempotency-key': key });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.json.id).toBe(first.json.id);
    expect((await stack.db.query('SELECT count(*)::int AS n FROM products WHERE title = $1', [input.title])).rows[0].n).toBe(1);
  });

  it('when the seller already posted 30 listings in 24 hours, then the next is 429 listing_limit_reached with Retry-After', async () => {
    const seller = await sellerWithNeighbourhood(stack, 'limit');
    // 29 posted in the last day (one of them deleted: deleting does not give the slot back) plus one through the API.
    await stack.db.query(
      `INSERT INTO products (id, seller_id, title, category_id, price, condition, trade_methods, dong_code, lat, lng, created_at, deleted_at)
       SELECT 'prd_' || upper(substr(md5(random()::text), 1, 20)), $1, 'bulk ' || g, $2, 1000, 'used', '{meet_up}', $3, 37.5, 126.9,
              now() - make_interval(mins => g), CASE WHEN g = 1 THEN now() END
         FROM generate_series(1, 29) g`,
      [seller.id, PHONES, MANGWON.dongCode],
    );
    await stack.db.query(`INSERT INTO products (id, seller_id, title, category_id, price, condition, trade_methods, dong_code, lat, lng, created_at)
      VALUES ('prd_' || upper(substr(md5(random()::text), 1, 20)), $1, 'older', $2, 1000, 'used', '{meet_up}', $3, 37.5, 126.9, now() - interval '25 hours')`, [seller.id, PHONES, MANGWON.dongCode]);
    expect((await post(seller, listingInput())).status).toBe(201);
    const refused = await post(seller, listingInput());
    expectProblem(refused, 429, 'listing_limit_reached');
    const retryAfter = Number(refused.headers.get('retry-after'));
    // The oldest of the 30 (29 minutes old) leaves the window in about 23 h 31 min.
    expect(retryAfter).toBeGreaterThan(23 * 3600);
    expect(retryAfter).toBeLessThanOrEqual(24 * 3600);
  });
});

describe("POST /v1/products when the API host's clock runs ahead of the database's", () => {
  // Five minutes ahead, this process would count the 24 hours from five minutes later than the
  // database that set created_at and bumped_at, so a listing with three minutes to go would fall out.
  const runClockAhead = () => vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 5 * 60_000 });

  it('then the daily limit still counts a listing with three minutes to go: 429 listing_limit_reached, Retry-After by the database', async () => {
    const seller = await sellerWithNeighbourhood(stack, 'limitclock');
    await stack.db.query(
      `INSERT INTO products (id, seller_id, title, category_id, price, condition, trade_methods, dong_code, lat, lng, created_at)
       SELECT 'prd_' || upper(substr(md5(random()::text), 1, 20)), $1, 'bulk ' || g, $2, 1000, 'used', '{meet_up}', $3, 37.5, 126.9,
              now() - interval '23 hours 57 minutes' + make_interval(secs => g)
         FROM generate_series(0, 29) g`,
      [seller.id, PHONES, MANGWON.dongCode],
    );
    runClockAhead();
    try {
      const refused = await post(seller, listingInput());
      expectProblem(refused, 429, 'listing_limit_reached');
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(120);
      expect(retryAfter).toBeLessThanOrEqual(180);
    } finally {
      vi.useRealTimers();
    }
  });

  it('then a listing posted 23 h 57 min ago is still a duplicate: 409 duplicate_listing', async () => {
    const seller = await sellerWithNeighbourhood(stack, 'dupclock');
    const tag = randomBytes(3).toString('hex');
    const text = { title: `갤럭시 버즈2 프로 그라파이트 ${tag}`, description: `한쪽 유닛 교체품, 충전 케이스 포함. ${tag}` };
    const first = await createListing(stack, seller.token, text);
    await stack.db.query(`UPDATE products SET created_at = now() - interval '23 hours 57 minutes', bumped_at = now() - interval '23 hours 57 minutes' WHERE id = $1`, [first.id]);
    runClockAhead();
    try {
      const again = await post(seller, listingInput(text));
      expectProblem(again, 409, 'duplicate_listing');
      expect(String(again.json.detail)).toContain(first.id);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('GET /v1/products/{product_id}', () => {
  beforeAll(freshSellers);

  it('when the ETag is sent back unchanged, then it is 304; after an edit the old ETag gets the new listing', async () => {
    const p = await createListing(stack, sellerA.token);
    const first = await get(null, p.id);
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"v1-/);
    const again = await get(null, p.id, { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    // Viewer-dependent: never kept by a shared cache, revalidated by a browser.
    expect([first.headers.get('cache-control'), again.headers.get('cache-control')]).toEqual(['private, no-cache', 'private, no-cache']);
    expect((await put(sellerA, p, { price: 700_000 })).status).toBe(200);
    const changed = await get(null, p.id, { 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.json.price).toBe(700_000);
    expect(changed.headers.get('etag')).not.toBe(etag);
  });

  it("when the seller writes (create, edit, bump, status), then the answer is the seller's next read: the same body, liked_by_me included, and an ETag that gives 304", async () => {
    const p = await createListing(stack, sellerA.token);
    const edited = await put(sellerA, p, { price: 650_000 });
    const hidden = await call(sellerA, 'POST', `/products/${p.id}/status`, { status: 'hidden' });
    for (const write of [edited, hidden]) {
      expect(write.status).toBe(200);
      expect(write.json.liked_by_me).toBe(false);
    }
    const read = await get(sellerA, p.id, { 'if-none-match': hidden.headers.get('etag')! });
    expect(read.status).toBe(304);
    expect((await get(sellerA, p.id)).text).toBe(hidden.text);
  });

  it('when the detail was read, then it is served from the cache, and an edit is visible on the very next read', async () => {
    const p = await createListing(stack, sellerA.token);
    expect((await get(null, p.id)).json.title).toBe(p.title);
    expect(await redis.hexists(productCacheKey(p.id), 'doc')).toBe(1);
    // A change behind the API's back is not seen: the read came from the cache.
    await stack.db.query(`UPDATE products SET view_count = 777 WHERE id = $1`, [p.id]);
    expect((await get(null, p.id)).json.view_count).toBe(0);
    const edited = await put(sellerA, p, { title: `${String(p.title)} (급처)` });
    expect(edited.status).toBe(200);
    const next = await get(null, p.id);
    expect(next.json.title).toBe(`${String(p.title)} (급처)`);
    expect(next.json.view_count).toBe(777);
  });

  it('when Redis discards the invalidation (at its memory limit, noeviction refuses HINCRBY and the whole MULTI), then the entry is deleted outright; when even that fails, nothing throws', async () => {
    const p = await createListing(stack, sellerA.token);
    await get(null, p.id);
    expect(await redis.hexists(productCacheKey(p.id), 'doc')).toBe(1);
    const execAbort = () => Promise.reject(Object.assign(new Error('EXECABORT Transaction discarded because of previous errors.'), { name: 'ReplyError' }));
    // The real client, with only its transactions refused (as Redis refuses them when out of memory).
    const refusing = new Proxy(redis, { get: (target, prop) => (prop === 'multi' ? () => ({ hincrby() { return this; }, hdel() { return this; }, expire() { return this; }, exec: execAbort }) : Reflect.get(target, prop)) });
    const log = createLogger('silent', 'test');
    await new ProductDetailCache(refusing as typeof redis, 60, log).invalidate(p.id);
    expect(await redis.exists(productCacheKey(p.id))).toBe(0);
    const down = new Proxy(refusing, { get: (target, prop) => (prop === 'del' ? () => Promise.reject(new Error('Connection is closed.')) : Reflect.get(target, prop)) });
    // Redis gone altogether: logged, and the change that asked still succeeds.
    await expect(new ProductDetailCache(down as typeof redis, 60, log).invalidate(p.id)).resolves.toBeUndefined();
  });

  it('when the listing\'s category is renamed, then the cached detail is dropped, so the next reads show the new name under a new ETag', async () => {
    // A category of this test's own (edits must not touch the shared tree); it keeps its deleted listing.
    const slug = `test-${randomBytes(4).toString('hex')}`;
    const own = categoryId(`other/${slug}`);
    await stack.db.query(`INSERT INTO categories (id, parent_id, name, slug, depth, path, sort_order) VALUES ($1, $2, '이름 전', $3, 1, $4, 9000)`, [own, categoryId('other'), slug, `other/${slug}`]);
    const [admin] = await staffAccounts('admin', 1, stack);
    const p = await waitFor('a listing in the new category', async () => {
      const res = await post(sellerA, listingInput({ category_id: own }));
      return res.status === 201 && (res.json as Json & { id: string });
    });
    const before = await get(null, p.id);
    expect((before.json.category as Json).name).toBe('이름 전');
    expect(await redis.hexists(productCacheKey(p.id), 'doc')).toBe(1);
    const current = await call(null, 'GET', `/products/categories/${own}`);
    const renamed = await call(admin!, 'PATCH', `/products/categories/${own}`, { name: '이름 후' }, { 'if-match': current.headers.get('etag')! });
    expect(renamed.status).toBe(200);
    const after = await waitFor('the new name in the detail', async () => {
      const res = await get(null, p.id, { 'if-none-match': before.headers.get('etag')! });
      return res.status === 200 && res;
    });
    expect((after.json.category as Json).name).toBe('이름 후');
    expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));
    // A new order among siblings is not shown: the cached detail stays.
    await get(null, p.id);
    const again = await call(null, 'GET', `/products/categories/${own}`);
    expect((await call(admin!, 'PATCH', `/products/categories/${own}`, { sort_order: 9001 }, { 'if-match': again.headers.get('etag')! })).status).toBe(200);
    await waitFor('the reorder handled', async () => (await stack.db.query(
      `SELECT 1 FROM inbox i JOIN events e ON e.id = i.event_id WHERE i.subscriber = 'products.detail-cache' AND e.aggregate_id = $1 AND e.payload->'changes'->>'sort_order' = '9001'`, [own])).rowCount === 1);
    expect(await redis.hexists(productCacheKey(p.id), 'doc')).toBe(1);
    expect((await call(sellerA, 'DELETE', `/products/${p.id}`)).status).toBe(204);
  });

  it('when photos are processed (product.images_changed), then the ProductDetail projection and the next read show them', async () => {
    const p = await createListing(stack, sellerA.token);
    expect((await get(null, p.id)).json.images).toEqual([]);
    // Appended at once, without waiting for product.created to be projected: the projection merges in any order.
    const image = { id: 'img_9QD4TBV3N1PX8ZRA7M2K', url: 'https://img.junggo.example/p/1.webp', thumbnail_url: 'https://img.junggo.example/p/1-t.webp', width: 1280, height: 960, position: 0 };
    await stack.db.query(
      `INSERT INTO events (id, aggregate_type, aggregate_id, aggregate_version, type, payload, metadata)
       SELECT 'evt_' || md5(random()::text), 'product', $1, max(aggregate_version) + 1, 'product.images_changed', $2::jsonb, '{}'::jsonb
         FROM events WHERE aggregate_type = 'product' AND aggregate_id = $1`,
      [p.id, JSON.stringify({ product_id: p.id, images: [image] })],
    );
    const shown = await waitFor('the images in the detail', async () => {
      const res = await get(null, p.id);
      return (res.json.images as unknown[]).length === 1 && res.json;
    });
    expect(shown.images).toEqual([image]);
    const doc = await waitFor('the ProductDetail document', async () => {
      const [stored] = (await stack.db.query('SELECT body FROM doc_product_details WHERE id = $1', [p.id])).rows as { body: Json }[];
      return (stored?.body.images as unknown[] | undefined)?.length === 1 && stored!.body;
    });
    expect(doc).toMatchObject({ seller_id: sellerA.id, title: p.title, description: p.description, category_path: 'digital/phones', status: 'on_sale', images: [image], deleted: false });
  });

  it('when the listing is hidden, then only its seller sees it; others (and anonymous callers) get 404', async () => {
    const p = await createListing(stack, sellerA.token);
    expect((await status(sellerA, p.id, { status: 'hidden' })).status).toBe(200);
    expectProblem(await get(sellerB, p.id), 404, 'not_found');
    expectProblem(await get(null, p.id), 404, 'not_found');
    const own = await get(sellerA, p.id);
    expect(own.status).toBe(200);
    expect(own.json.status).toBe('hidden');
  });

  it('when the id is unknown, then 404; when it is malformed, then 400', async () => {
    expectProblem(await get(null, 'prd_00000000000000000000'), 404, 'not_found');
    expectProblem(await get(null, 'not-an-id'), 400, 'validation_failed');
  });

  it('when a signed-in user reads, then liked_by_me is present; anonymous readers do not get it', async () => {
    const p = await createListing(stack, sellerA.token);
    expect((await get(sellerB, p.id)).json.liked_by_me).toBe(false);
    expect((await get(null, p.id)).json).not.toHaveProperty('liked_by_me');
  });
});

describe('PUT /v1/products/{product_id}', () => {
  beforeAll(freshSellers);

  it('when If-Match is the current ETag, then the edit is saved and product.updated carries the new state; a stale ETag is 412', async () => {
    const p = await createListing(stack, sellerA.token);
    const etag = (await get(sellerA, p.id)).headers.get('etag')!;
    const res = await put(sellerA, p, { price: 800_000, condition: 'used', trade_methods: ['parcel'], shipping_fee: 3000, quantity: 2 }, etag);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ price: 800_000, condition: 'used', trade_methods: ['parcel'], shipping_fee: 3000, quantity: 2 });
    expect(res.headers.get('etag')).toMatch(/^"v2-/);
    expect((await row(p.id))!.version).toBe(2);
    const [updated] = await events(p.id, 'product.updated');
    expect(updated!.payload).toMatchObject({ product_id: p.id, price: 800_000, quantity: 2, category_path: 'digital/phones', title: p.title, updated_at: expect.any(String) });
    const stale = await put(sellerA, p, { price: 750_000 }, etag);
    expectProblem(stale, 412, 'precondition_failed');
    expect((await row(p.id))!.price).toBe(800_000);
    // The tag as a compressing proxy (nginx gzip) hands it on: weakened, still this version's.
    const weakened = `W/${res.headers.get('etag')!}`;
    expect((await put(sellerA, p, { price: 790_000 }, weakened)).status).toBe(200);
    expectProblem(await put(sellerA, p, { price: 780_000 }, weakened), 412, 'precondition_failed');
  });

  it('when the edit saves what the listing already holds, then nothing is written: same version and ETag, no event, and another editor\'s If-Match still holds', async () => {
    const p = await createListing(stack, sellerA.token, { trade_methods: ['meet_up', 'parcel'], shipping_fee: 3000 });
    const read = await get(sellerA, p.id);
    const etag = read.headers.get('etag')!;
    const before = (await row(p.id))!;
    const same = await put(sellerA, read.json, {}, etag);
    expect(same.status).toBe(200);
    expect(same.headers.get('etag')).toBe(etag);
    expect(same.text).toBe(read.text);
    expect(await row(p.id)).toEqual(before);
    expect(await events(p.id, 'product.updated')).toEqual([]);
    // The same methods in another order are an edit (the order is what the listing shows).
    const reordered = await put(sellerA, read.json, { trade_methods: ['parcel', 'meet_up'] }, etag);
    expect(reordered.status).toBe(200);
    expect(reordered.headers.get('etag')).toMatch(/^"v2-/);
    expect(await events(p.id, 'product.updated')).toHaveLength(1);
  });

  it('when only likes or views changed since the ETag was read, then the edit still passes If-Match', async () => {
    const p = await createListing(stack, sellerA.token);
    const etag = (await get(sellerA, p.id)).headers.get('etag')!;
    await stack.db.query('UPDATE products SET like_count = like_count + 3 WHERE id = $1', [p.id]);
    expect((await put(sellerA, p, { price: 840_000 }, etag)).status).toBe(200);
  });

  it('when another user edits, then it is 403 not_seller (404 once the listing is hidden) and nothing changes', async () => {
    const p = await createListing(stack, sellerA.token);
    expectProblem(await put(sellerB, p, { price: 1 }), 403, 'not_seller');
    // Whatever the body: what the seller would be told of it is not for others.
    expectProblem(await put(sellerB, p, { shipping_fee: 3_000, trade_methods: ['meet_up'] }), 403, 'not_seller');
    expectProblem(await put(sellerB, p, { title: '참이슬 소주 한 박스' }), 403, 'not_seller');
    expect((await status(sellerA, p.id, { status: 'hidden' })).status).toBe(200);
    expectProblem(await put(sellerB, p, { price: 1 }), 404, 'not_found');
    expectProblem(await put(sellerB, p, { title: '참이슬 소주 한 박스' }), 404, 'not_found');
    expect((await row(p.id))!.price).toBe(850_000);
    expect(await events(p.id, 'product.updated')).toHaveLength(0);
  });

  it('when the listing is sold, then its price is locked (409 price_locked) but other fields can still be edited', async () => {
    const p = await createListing(stack, sellerA.token);
    expect((await status(sellerA, p.id, { status: 'sold' })).status).toBe(200);
    const refused = await put(sellerA, p, { price: 10_000 });
    expectProblem(refused, 409, 'price_locked');
    const ok = await put(sellerA, p, { description: '거래 완료되었습니다. 감사합니다.' });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ status: 'sold', price: 850_000, description: '거래 완료되었습니다. 감사합니다.' });
  });

  it('when the edit sets status, seller_id or counts, then it is 400 and nothing changes', async () => {
    const p = await createListing(stack, sellerA.token);
    for (const extra of [{ status: 'sold' }, { seller_id: sellerB.id }, { like_count: 99 }, { created_at: '2020-01-01T00:00:00Z' }]) {
      expectProblem(await put(sellerA, p, extra), 400, 'validation_failed');
    }
    expect((await row(p.id))!).toMatchObject({ status: 'on_sale', seller_id: sellerA.id, like_count: 0, version: 1 });
  });

  it('when the edit breaks a posting rule, then it is 422 listing_prohibited and nothing changes', async () => {
    const p = await createListing(stack, sellerA.token);
    const res = await put(sellerA, p, { description: '입금은 신한 110-123-456789 로 부탁드려요' });
    expectProblem(res, 422, 'listing_prohibited');
    expect(res.json.errors).toEqual([expect.objectContaining({ pointer: '/description', code: 'bank_account' })]);
    expect((await row(p.id))!.version).toBe(1);
  });

  it('when the edit moves the listing to a non-leaf category, then it is 422 category_not_leaf', async () => {
    const p = await createListing(stack, sellerA.token);
    expectProblem(await put(sellerA, p, { category_id: DIGITAL }), 422, 'category_not_leaf');
  });

  it('when the edit gives a listing the title and description of another posted an hour ago, then it is 409 duplicate_listing and nothing changes; rewording its own text is fine', async () => {
    const seller = await sellerWithNeighbourhood(stack, 'editdup');
    const tag = randomBytes(3).toString('hex');
    const a = await createListing(stack, seller.token, { title: `다이슨 에어랩 ${tag}`, description: `작년 구매, 구성품 모두 있습니다. ${tag}` });
    await stack.db.query(`UPDATE products SET created_at = now() - interval '1 hour', bumped_at = now() - interval '1 hour' WHERE id = $1`, [a.id]);
    const b = await createListing(stack, seller.token, { title: `다이슨 청소기 V12 ${tag}`, description: '흡입력 좋습니다. 헤드 두 개 드려요.' });
    const refused = await put(seller, b, { title: a.title, description: `${String(a.description)}!` });
    expectProblem(refused, 409, 'duplicate_listing');
    expect(String(refused.json.detail)).toContain(a.id);
    expect((await row(b.id))!).toMatchObject({ title: b.title, version: 1 });
    expect(await events(b.id, 'product.updated')).toHaveLength(0);
    // Its own text, punctuated differently, is the same text: the listing is not compared with itself.
    const own = await put(seller, b, { description: '흡입력 좋습니다!! 헤드 두 개 드려요' });
    expect(own.status).toBe(200);
    expect(own.json.description).toBe('흡입력 좋습니다!! 헤드 두 개 드려요');
    // Deleted, its text still may not move up: b, posted after it, cannot become it (a repost in
    // two steps: post a placeholder, delete the original, edit the placeholder)...
    expect((await call(seller, 'DELETE', `/products/${a.id}`)).status).toBe(204);
    expectProblem(await put(seller, b, { title: a.title, description: a.description }), 409, 'duplicate_listing');
    // ...but a listing older than it may take the text: it moves nothing up.
    await stack.db.query(`UPDATE products SET bumped_at = now() - interval '2 hours' WHERE id = $1`, [b.id]);
    const reuse = await put(seller, b, { title: a.title, description: a.description });
    expect(reuse.status).toBe(200);
    expect(reuse.json.title).toBe(a.title);
  });

  it('when two listings were already the same, then an edit that keeps the text (a price cut) is saved, and one that changes it is checked', async () => {
    const seller = await sellerWithNeighbourhood(stack, 'legacydup');
    const tag = randomBytes(3).toString('hex');
    const a = await createListing(stack, seller.token, { title: `캠핑 의자 두 개 ${tag}`, description: `한 번 사용했습니다. 파우치 포함. ${tag}` });
    const b = await createListing(stack, seller.token, { title: `캠핑 테이블 ${tag}`, description: '접이식, 상판 기스 약간.' });
    // As if posted before the rule held for edits.
    await stack.db.query('UPDATE products SET title = $2, description = $3 WHERE id = $1', [b.id, a.title, a.description]);
    const legacy = { ...b, title: a.title, description: a.description };
    const cut = await put(seller, legacy, { price: 800_000 });
    expect(cut.status).toBe(200);
    expect(cut.json.price).toBe(800_000);
    expectProblem(await put(seller, legacy, { description: `${String(a.description)}!` }), 409, 'duplicate_listing');
    expect((await row(b.id))!).toMatchObject({ description: a.description, price: 800_000 });
  });
});

describe('POST /v1/products/{product_id}/status', () => {
  beforeAll(freshSellers);

  it('when the seller reserves for a buyer and then sells, then the buyer is kept, seen only by the seller, and each change is an event', async () => {
    const buyer = await stack.signUp('buyer');
    const p = await createListing(stack, sellerA.token);
    const reserved = await status(sellerA, p.id, { status: 'reserved', buyer_id: buyer.id });
    expect(reserved.status).toBe(200);
    expect(reserved.json).toMatchObject({ status: 'reserved', buyer_id: buyer.id });
    const sold = await status(sellerA, p.id, { status: 'sold' });
    expect(sold.json).toMatchObject({ status: 'sold', buyer_id: buyer.id });
    const seen = await get(buyer, p.id);
    expect(seen.json.status).toBe('sold');
    expect(seen.json).not.toHaveProperty('buyer_id');
    expect((await events(p.id, 'product.status_changed')).map((e) => e.payload)).toEqual([
      { product_id: p.id, seller_id: sellerA.id, status: 'reserved', previous: 'on_sale', buyer_id: buyer.id },
      { product_id: p.id, seller_id: sellerA.id, status: 'sold', previous: 'reserved', buyer_id: buyer.id },
    ]);
  });

  it('when a sold listing is put back on sale or a hidden one sold, then it is 409 invalid_status_transition', async () => {
    const p = await createListing(stack, sellerA.token);
    expect((await status(sellerA, p.id, { status: 'sold' })).status).toBe(200);
    expectProblem(await status(sellerA, p.id, { status: 'on_sale' }), 409, 'invalid_status_transition');
    expectProblem(await status(sellerA, p.id, { status: 'reserved' }), 409, 'invalid_status_transition');
    const q = await createListing(stack, sellerA.token);
    expect((await status(sellerA, q.id, { status: 'hidden' })).status).toBe(200);
    expectProblem(await status(sellerA, q.id, { status: 'sold' }), 409, 'invalid_status_transition');
    const back = await status(sellerA, q.id, { status: 'on_sale' });
    expect(back.json.status).toBe('on_sale');
  });

  it('when the reservation is cancelled, then the buyer is forgotten; asking for the same status again changes nothing', async () => {
    const buyer = await stack.signUp('buyer2');
    const p = await createListing(stack, sellerA.token);
    await status(sellerA, p.id, { status: 'reserved', buyer_id: buyer.id });
    const back = await status(sellerA, p.id, { status: 'on_sale' });
    expect(back.json).not.toHaveProperty('buyer_id');
    expect((await row(p.id))!.buyer_id).toBeNull();
    const versionBefore = (await row(p.id))!.version;
    expect((await status(sellerA, p.id, { status: 'on_sale' })).status).toBe(200);
    expect((await row(p.id))!.version).toBe(versionBefore);
    expect(await events(p.id, 'product.status_changed')).toHaveLength(2);
  });

  it('when the buyer is the seller or unknown, then 422 invalid_buyer; a buyer with on_sale or hidden is 422 buyer_not_applicable', async () => {
    const p = await createListing(stack, sellerA.token);
    expectProblem(await status(sellerA, p.id, { status: 'reserved', buyer_id: sellerA.id }), 422, 'invalid_buyer');
    expectProblem(await status(sellerA, p.id, { status: 'sold', buyer_id: 'usr_00000000000000000000' }), 422, 'invalid_buyer');
    expectProblem(await status(sellerA, p.id, { status: 'hidden', buyer_id: sellerB.id }), 422, 'buyer_not_applicable');
    expect((await row(p.id))!.status).toBe('on_sale');
  });

  it('when the buyer is suspended or banned, then 422 invalid_buyer; once a suspension has ended, they can be named', async () => {
    const p = await createListing(stack, sellerA.token);
    const buyer = await stack.signUp('suspendedbuyer');
    const setStatus = (s: string, until: string | null) => stack.db.query('UPDATE users SET status = $2, suspended_until = $3 WHERE id = $1', [buyer.id, s, until]);
    await setStatus('suspended', new Date(Date.now() + 86_400_000).toISOString());
    expectProblem(await status(sellerA, p.id, { status: 'reserved', buyer_id: buyer.id }), 422, 'invalid_buyer');
    await setStatus('banned', null);
    expectProblem(await status(sellerA, p.id, { status: 'sold', buyer_id: buyer.id }), 422, 'invalid_buyer');
    expect(await row(p.id)).toMatchObject({ status: 'on_sale', buyer_id: null });
    expect(await events(p.id, 'product.status_changed')).toHaveLength(0);
    await setStatus('suspended', new Date(Date.now() - 1_000).toISOString());
    expect((await status(sellerA, p.id, { status: 'reserved', buyer_id: buyer.id })).status).toBe(200);
    expect(await row(p.id)).toMatchObject({ status: 'reserved', buyer_id: buyer.id });
    // Banned while the listing was reserved for them: selling to the kept buyer is refused too.
    await setStatus('banned', null);
    expectProblem(await status(sellerA, p.id, { status: 'sold' }), 422, 'invalid_buyer');
    expect(await row(p.id)).toMatchObject({ status: 'reserved', buyer_id: buyer.id });
  });

  it('when another user changes the status, then 403 not_seller (404 for a hidden listing; 401 without a token)', async () => {
    const p = await createListing(stack, sellerA.token);
    expectProblem(await status(sellerB, p.id, { status: 'sold' }), 403, 'not_seller');
    expectProblem(await status(sellerB, p.id, { status: 'on_sale', buyer_id: sellerB.id }), 403, 'not_seller');
    expectProblem(await status(null, p.id, { status: 'sold' }), 401, 'unauthenticated');
    await status(sellerA, p.id, { status: 'hidden' });
    expectProblem(await status(sellerB, p.id, { status: 'on_sale' }), 404, 'not_found');
    expect((await row(p.id))!.status).toBe('hidden');
  });
});

describe('POST /v1/products/{product_id}/bump', () => {
  beforeAll(freshSellers);

  it('when bumped within 24 hours of posting, then 429 bump_too_soon with Retry-After; a day later it goes to the top once', async () => {
    const p = await createListing(stack, sellerA.token);
    const tooSoon = await bump(sellerA, p.id);
    expectProblem(tooSoon, 429, 'bump_too_soon');
    expect(Number(tooSoon.headers.get('retry-after'))).toBeGreaterThan(23 * 3600);
    await ageBump(p.id, 25);
    const before = new Date(String((await row(p.id))!.bumped_at)).getTime();
    const bumped = await bump(sellerA, p.id);
    expect(bumped.status).toBe(200);
    expect(new Date(String(bumped.json.bumped_at)).getTime()).toBeGreaterThan(before + 24 * 3600_000);
    expect(bumped.json.price).toBe(850_000);
    const [event] = await events(p.id, 'product.bumped');
    expect(event!.payload).toEqual({ product_id: p.id, seller_id: sellerA.id, bumped_at: bumped.json.bumped_at, price: 850_000, previous_price: 850_000 });
    const again = await bump(sellerA, p.id);
    expectProblem(again, 429, 'bump_too_soon');
  });

  it("when the API host's clock runs ahead of the database's, then the 24 hours are still counted by the database: 429 until they have passed", async () => {
    const p = await createListing(stack, sellerA.token);
    await stack.db.query(`UPDATE products SET bumped_at = now() - interval '23 hours 57 minutes' WHERE id = $1`, [p.id]);
    // Three minutes to go by the database; five minutes ahead, this process thinks they are over.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 5 * 60_000 });
    try {
      const early = await bump(sellerA, p.id);
      expectProblem(early, 429, 'bump_too_soon');
      expect(Number(early.headers.get('retry-after'))).toBeGreaterThan(120);
      expect(Number(early.headers.get('retry-after'))).toBeLessThanOrEqual(180);
    } finally {
      vi.useRealTimers();
    }
  });

  it('when bumped with a lower price, then the price drops; a price that is not lower is 422 price_not_lower', async () => {
    const p = await createListing(stack, sellerA.token);
    await ageBump(p.id, 30);
    expectProblem(await bump(sellerA, p.id, { price: 900_000 }), 422, 'price_not_lower');
    const cut = await bump(sellerA, p.id, { price: 790_000 });
    expect(cut.status).toBe(200);
    expect(cut.json.price).toBe(790_000);
    expect((await events(p.id, 'product.bumped'))[0]!.payload).toMatchObject({ price: 790_000, previous_price: 850_000 });
    expect((await get(null, p.id)).json.price).toBe(790_000);
  });

  it('when the listing is reserved, then 409 product_not_on_sale; another user gets 403 not_seller', async () => {
    const p = await createListing(stack, sellerA.token);
    await ageBump(p.id, 30);
    expectProblem(await bump(sellerB, p.id), 403, 'not_seller');
    await status(sellerA, p.id, { status: 'reserved' });
    expectProblem(await bump(sellerA, p.id), 409, 'product_not_on_sale');
  });
});

describe('DELETE /v1/products/{product_id}', () => {
  beforeAll(freshSellers);

  it('when the seller deletes, then the listing is gone from every read but the row stays (soft delete), with product.deleted', async () => {
    const p = await createListing(stack, sellerA.token);
    await get(null, p.id); // cached
    expect((await call(sellerA, 'DELETE', `/products/${p.id}`)).status).toBe(204);
    expectProblem(await get(null, p.id), 404, 'not_found');
    expectProblem(await get(sellerA, p.id), 404, 'not_found');
    expect((await row(p.id))!.deleted_at).not.toBeNull();
    expect(await events(p.id, 'product.deleted')).toEqual([{ type: 'product.deleted', payload: { product_id: p.id, seller_id: sellerA.id } }]);
    expectProblem(await call(sellerA, 'DELETE', `/products/${p.id}`), 404, 'not_found');
    expectProblem(await put(sellerA, p, { price: 1 }), 404, 'not_found');
  });

  it('when another user deletes, then 403 not_seller and the listing stays', async () => {
    const p = await createListing(stack, sellerA.token);
    expectProblem(await call(sellerB, 'DELETE', `/products/${p.id}`), 403, 'not_seller');
    expect((await get(null, p.id)).status).toBe(200);
  });
});

describe('GET /v1/users/{user_id}/products', () => {
  beforeAll(freshSellers);

  it('when others list a seller, then they see on-sale, reserved and sold listings but not hidden or deleted ones; the seller sees hidden too', async () => {
    const seller = await sellerWithNeighbourhood(stack, 'shop');
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await createListing(stack, seller.token));
    await status(seller, made[1]!.id, { status: 'reserved' });
    await status(seller, made[2]!.id, { status: 'sold' });
    await status(seller, made[3]!.id, { status: 'hidden' });
    await call(seller, 'DELETE', `/products/${made[4]!.id}`);
    const ids = (res: { json: Json }) => (res.json.data as Json[]).map((p) => p.id);
    const public_ = await call(null, 'GET', `/users/${seller.id}/products`);
    expect(public_.status).toBe(200);
    expect(ids(public_)).toEqual([made[2]!.id, made[1]!.id, made[0]!.id]);
    expect(ids(await call(sellerB, 'GET', `/users/${seller.id}/products?status=hidden`))).toEqual([]);
    expect(ids(await call(seller, 'GET', `/users/${seller.id}/products`))).toEqual([made[3]!.id, made[2]!.id, made[1]!.id, made[0]!.id]);
    expect(ids(await call(seller, 'GET', `/users/${seller.id}/products?status=hidden`))).toEqual([made[3]!.id]);
  });

  it('when paging while new listings are posted, then no listing is skipped or repeated; a cursor with another filter is 400 invalid_cursor', async () => {
    const seller = await sellerWithNeighbourhood(stack, 'page');
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await createListing(stack, seller.token));
    const first = await call(null, 'GET', `/users/${seller.id}/products?limit=2`);
    expect(first.json.has_more).toBe(true);
    await createListing(stack, seller.token); // newer: must not shift the pages already started
    const seen = [...(first.json.data as Json[])];
    for (let cursor = first.json.next_cursor as string | null; cursor; ) {
      const page = await call(null, 'GET', `/users/${seller.id}/products?limit=2&cursor=${cursor}`);
      expect(page.status).toBe(200);
      seen.push(...(page.json.data as Json[]));
      cursor = page.json.next_cursor as string | null;
    }
    expect(seen.map((p) => p.id)).toEqual(made.map((p) => p.id).reverse());
    expectProblem(await call(null, 'GET', `/users/${seller.id}/products?limit=2&status=sold&cursor=${String(first.json.next_cursor)}`), 400, 'invalid_cursor');
    expectProblem(await call(null, 'GET', `/users/${seller.id}/products?cursor=${String(first.json.next_cursor).slice(0, -3)}abc`), 400, 'invalid_cursor');
  });

  it('when the user is unknown, then 404', async () => {
    expectProblem(await call(null, 'GET', '/users/usr_00000000000000000000/products'), 404, 'not_found');
  });
});

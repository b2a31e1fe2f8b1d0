import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { jpeg } from '../support/images';
import { hasSandbox, signUp, type SignedUp } from './identity';
import { api, assertConforms, assertDocumented, E2E, expectProblem, ops, outcome, sendInvalid } from './support';

// The catalog from a client's side: sellers and buyers made through the API (identity.ts), their
// listings, photos, searches, likes, sale status, bumps and keyword alerts. Every listing carries
// a tag of its scenario, so searches find only what the scenario posted.

const TERMS = '2026-11-01';
/** Where a phone in 망원2동 would be: resolves to a dong of 마포구. */
const MANGWON = { lat: 37.5563, lng: 126.9019 };

/** 휴대폰 (`digital/phones`), a leaf of the reference tree, read from the tree like a client would. */
let phones: Promise<string> | undefined;
const leafCategory = () =>
  (phones ??= (async () => {
    const tree = await api().GET('/products/categories');
    type Node = { id: string; path: string; children: Node[] };
    const find = (nodes: Node[]): Node | undefined => nodes.map((n) => (n.path === 'digital/phones' ? n : find(n.children))).find(Boolean);
    const leaf = find(tree.data!.data as Node[]);
    if (!leaf) throw new Error('the category tree has no digital/phones');
    return leaf.id;
  })());

const newTag = () => `e2e${randomBytes(4).toString('hex')}`;

async function seller(tag: string): Promise<SignedUp> {
  const user = await signUp(tag);
  const me = api({ token: user.token });
  expect((await me.PUT('/users/me/location-consent', { body: { terms_version: TERMS } })).response.status).toBe(200);
  expect((await me.POST('/users/me/neighbourhoods', { body: MANGWON })).response.status).toBe(200);
  return user;
}

async function listingBody(tag: string, overrides: Record<string, unknown> = {}) {
  return {
    title: `아이폰 14 프로 256GB ${tag}`,
    description: `배터리 성능 89%, 기스 없이 깨끗합니다. 직거래 선호합니다. (${tag})`,
    category_id: await leafCategory(),
    price: 850_000,
    condition: 'like_new' as const,
    trade_methods: ['meet_up' as const, 'parcel' as const],
    shipping_fee: 3500,
    ...overrides,
  };
}

async function post(user: SignedUp, tag: string, overrides: Record<string, unknown> = {}) {
  const res = await api({ token: user.token }).POST('/products', {
    params: { header: { 'Idempotency-Key': randomUUID() } },
    body: (await listingBody(tag, overrides)) as never,
  });
  expect(res.response.status, JSON.stringify(res.error)).toBe(201);
  return res.data!;
}

/** Polls until `probe` gives a value (the worker and the search index follow events). */
async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  for (const end = Date.now() + timeoutMs; ; ) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

interface Part {
  name?: string;
  data: Buffer | string;
  filename?: string;
  type?: string;
}

/**
 * A multipart upload, sent with fetch straight to the app, and its answer checked against the
 * description here (assertDocumented) instead of by Prism, which cannot carry uploads: its proxy
 * reads the body as UTF-8 text and forwards that, so every byte of a photo that is not valid UTF-8
 * becomes U+FFFD (a JPEG arrives as 480 bytes of garbage instead of 436: stoplightio/prism#2349,
 * #1321), and its validator reads repeated parts as one value, calling every upload "images must
 * be array" (stoplightio/prism#2654, unmerged).
 */
async function upload(token: string | undefined, productId: string, parts: Part[]) {
  const form = new FormData();
  for (const p of parts) {
    if (p.filename === undefined) form.append(p.name ?? 'images', String(p.data));
    else form.append(p.name ?? 'images', new Blob([p.data], { type: p.type ?? 'image/jpeg' }), p.filename);
  }
  const url = `${E2E.directBaseUrl}/products/${productId}/images`;
  const headers = new Headers({ 'X-Forwarded-For': `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}` });
  if (token) headers.set('authorization', `Bearer ${token}`);
  const res = await fetch(url, { method: 'POST', headers, body: form });
  const text = await res.text();
  const body = (text ? JSON.parse(text) : {}) as Record<string, unknown> & { data?: { id: string; status: string }[] };
  assertDocumented('POST', '/products/{product_id}/images', { status: res.status, headers: res.headers, body });
  assertConforms('POST', url, res.status, res.headers, { v1: true });
  return { status: res.status, headers: res.headers, body };
}

describe.runIf(hasSandbox)('listings (매물): photos, detail, search, likes', () => {
  it('when a seller posts a listing and uploads a photo, then the photo is processed, the detail carries it with validators, the edit needs the current ETag, a search finds the listing, and a buyer can like it', async () => {
    const tag = newTag();
    const [s, buyer] = await Promise.all([seller('lst'), signUp('buyer')]);
    const me = api({ token: s.token });
    const created = await post(s, tag);
    expect(created).toMatchObject({ object: 'product', status: 'on_sale', price: 850_000, images: [] });
    expect(created.seller.id).toBe(s.id);

    const accepted = await upload(s.token, created.id, [{ data: await jpeg(640, 480), filename: '사진.jpg' }]);
    expect(accepted.status).toBe(202);
    expect(accepted.body.data).toEqual([expect.objectContaining({ status: 'processing', position: 0, content_type: 'image/jpeg' })]);
    const photoId = accepted.body.data![0]!.id;
    const ready = await eventually('the photo to be processed', async () => {
      const list = await me.GET('/products/{product_id}/images', { params: { path: { product_id: created.id } } });
      const photo = list.data!.data.find((p) => p.id === photoId);
      return photo?.status === 'ready' ? photo : undefined;
    });
    expect(ready.url).toMatch(/\.webp$/);
    expect(ready.thumbnail_url).toMatch(/-thumb\.webp$/);

    // Public detail: the processed photo, a strong ETag, 304 on revalidation.
    const detail = await eventually('the photo in the detail', async () => {
      const res = await api().GET('/products/{product_id}', { params: { path: { product_id: created.id } } });
      return res.data!.images.length === 1 ? res : undefined;
    });
    expect(detail.data!.images[0]).toMatchObject({ id: photoId, position: 0 });
    expect(detail.data!.buyer_id).toBeUndefined();
    const etag = detail.response.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const again = await api().GET('/products/{product_id}', { params: { path: { product_id: created.id }, header: { 'If-None-Match': etag } } });
    expect(again.response.status).toBe(304);

    // The display file, served by the API itself (no CDN in tests).
    const fileName = new URL(ready.url!).pathname.split('/').pop()!;
    const media = await ops().GET('/media/products/{product_id}/{file_name}', { params: { path: { product_id: created.id, file_name: fileName } }, parseAs: 'arrayBuffer' });
    expect(media.response.status).toBe(200);
    expect(media.response.headers.get('content-type')).toMatch(/^image\/webp/);
    expect(Buffer.from(media.data as ArrayBuffer).subarray(8, 12).toString('latin1')).toBe('WEBP');

    // The edit: the seller's ETag (from their own read) in If-Match; the same one again is stale.
    const mine = await me.GET('/products/{product_id}', { params: { path: { product_id: created.id } } });
    const ifMatch = mine.response.headers.get('etag')!;
    const edited = await me.PUT('/products/{product_id}', {
      params: { path: { product_id: created.id }, header: { 'If-Match': ifMatch } },
      body: { ...(await listingBody(tag, { price: 790_000 })), offers_allowed: true, quantity: 1 } as never,
    });
    expect(edited.response.status).toBe(200);
    expect(edited.data!.price).toBe(790_000);
    expect(edited.response.headers.get('etag')).not.toBe(ifMatch);
    const stale = await me.PUT('/products/{product_id}', {
      params: { path: { product_id: created.id }, header: { 'If-Match': ifMatch } },
      body: { ...(await listingBody(tag, { price: 700_000 })), offers_allowed: true, quantity: 1 } as never,
    });
    expectProblem(outcome(stale), 412, 'precondition_failed');

    // The search index follows events: the listing shows up, at its new price.
    const hit = await eventually('the search to find the listing', async () => {
      const found = await api().GET('/products', { params: { query: { q: tag } } });
      return found.data!.data.find((p) => p.id === created.id && p.price === 790_000);
    });
    expect(hit).toMatchObject({ object: 'product', status: 'on_sale', title: created.title });

    // Likes: the buyer's, counted and listed; the seller's own is refused.
    const buyerApi = api({ token: buyer.token });
    const liked = await buyerApi.PUT('/products/{product_id}/like', { params: { path: { product_id: created.id } } });
    expect(liked.data).toMatchObject({ object: 'product_like', product_id: created.id, liked: true, like_count: 1 });
    const seen = await buyerApi.GET('/products/{product_id}', { params: { path: { product_id: created.id } } });
    expect(seen.data!.liked_by_me).toBe(true);
    expect((await buyerApi.GET('/users/me/likes')).data!.data.map((p) => p.id)).toContain(created.id);
    expectProblem(outcome(await me.PUT('/products/{product_id}/like', { params: { path: { product_id: created.id } } })), 422, 'cannot_like_own_listing');
    const unliked = await buyerApi.DELETE('/products/{product_id}/like', { params: { path: { product_id: created.id } } });
    expect(unliked.data).toMatchObject({ liked: false, like_count: 0 });
  });

  it('when the sale status changes, then reserved names the buyer for the seller only, sold is final and keeps its price, and others get 403 not_seller', async () => {
    const tag = newTag();
    const [s, buyer] = await Promise.all([seller('sts'), signUp('stsb')]);
    const me = api({ token: s.token });
    const created = await post(s, tag);
    const path = { product_id: created.id };

    expectProblem(outcome(await api({ token: buyer.token }).POST('/products/{product_id}/status', { params: { path }, body: { status: 'reserved' } })), 403, 'not_seller');
    expectProblem(outcome(await me.POST('/products/{product_id}/status', { params: { path }, body: { status: 'on_sale', buyer_id: buyer.id } })), 422, 'buyer_not_applicable');

    const reserved = await me.POST('/products/{product_id}/status', { params: { path }, body: { status: 'reserved', buyer_id: buyer.id } });
    expect(reserved.data).toMatchObject({ status: 'reserved', buyer_id: buyer.id });
    const publicView = await api().GET('/products/{product_id}', { params: { path } });
    expect(publicView.data).toMatchObject({ status: 'reserved' });
    expect(publicView.data!.buyer_id).toBeUndefined();
    expectProblem(outcome(await me.POST('/products/{product_id}/bump', { params: { path }, body: {} })), 409, 'product_not_on_sale');

    const sold = await me.POST('/products/{product_id}/status', { params: { path }, body: { status: 'sold' } });
    expect(sold.data).toMatchObject({ status: 'sold', buyer_id: buyer.id });
    expectProblem(outcome(await me.POST('/products/{product_id}/status', { params: { path }, body: { status: 'on_sale' } })), 409, 'invalid_status_transition');

    const current = await me.GET('/products/{product_id}', { params: { path } });
    const repriced = await me.PUT('/products/{product_id}', {
      params: { path, header: { 'If-Match': current.response.headers.get('etag')! } },
      body: { ...(await listingBody(tag, { price: 1_000 })), offers_allowed: true, quantity: 1 } as never,
    });
    expectProblem(outcome(repriced), 409, 'price_locked');
  });

  it('when a listing was posted moments ago, then a bump is a 429 with Retry-After; a bumpable one takes a lower price only, once a day', async () => {
    const s = await seller('bmp');
    const created = await post(s, newTag());
    const tooSoon = await api({ token: s.token }).POST('/products/{product_id}/bump', { params: { path: { product_id: created.id }, header: { 'Idempotency-Key': randomUUID() } }, body: {} });
    expectProblem(outcome(tooSoon), 429, 'bump_too_soon');
    const wait = Number(tooSoon.response.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(23 * 3600);
    expect(wait).toBeLessThanOrEqual(24 * 3600);

    // A listing posted 25 hours ago cannot be made through the API: the test app provides one.
    if (!E2E.bumpable) return;
    const bumper = api({ token: E2E.bumpable.token });
    const path = { product_id: E2E.bumpable.productId };
    const before = await bumper.GET('/products/{product_id}', { params: { path } });
    expectProblem(outcome(await bumper.POST('/products/{product_id}/bump', { params: { path }, body: { price: before.data!.price } })), 422, 'price_not_lower');
    const bumped = await bumper.POST('/products/{product_id}/bump', { params: { path }, body: { price: before.data!.price - 10_000 } });
    expect(bumped.response.status).toBe(200);
    expect(bumped.data!.price).toBe(before.data!.price - 10_000);
    expect(Date.parse(bumped.data!.bumped_at)).toBeGreaterThan(Date.parse(before.data!.bumped_at));
    expectProblem(outcome(await bumper.POST('/products/{product_id}/bump', { params: { path }, body: {} })), 429, 'bump_too_soon');
  });

  it("when the seller deletes a listing, then it is gone for everyone: the detail and the photos are 404 and the seller's list no longer has it", async () => {
    const s = await seller('del');
    const me = api({ token: s.token });
    const created = await post(s, newTag());
    const path = { product_id: created.id };
    expect((await api().GET('/users/{user_id}/products', { params: { path: { user_id: s.id } } })).data!.data.map((p) => p.id)).toContain(created.id);
    expect((await me.DELETE('/products/{product_id}', { params: { path } })).response.status).toBe(204);
    expectProblem(outcome(await api().GET('/products/{product_id}', { params: { path } })), 404, 'not_found');
    expectProblem(outcome(await me.GET('/products/{product_id}/images', { params: { path } })), 404, 'not_found');
    expectProblem(outcome(await me.DELETE('/products/{product_id}', { params: { path } })), 404, 'not_found');
    expect((await api().GET('/users/{user_id}/products', { params: { path: { user_id: s.id } } })).data!.data.map((p) => p.id)).not.toContain(created.id);
  });

  it('when a buyer saves a keyword and a seller posts a matching listing, then the buyer is notified once; the alert can be removed', async () => {
    const tag = newTag();
    const [s, buyer] = await Promise.all([seller('kws'), signUp('kwb')]);
    const buyerApi = api({ token: buyer.token });
    const alert = await buyerApi.POST('/users/me/keyword-alerts', { params: { header: { 'Idempotency-Key': randomUUID() } }, body: { keyword: `${tag.toUpperCase()}!` } });
    expect(alert.response.status).toBe(201);
    expect(alert.data).toMatchObject({ object: 'keyword_alert', keyword: tag });
    expectProblem(outcome(await buyerApi.POST('/users/me/keyword-alerts', { body: { keyword: tag } })), 409, 'keyword_alert_exists');
    expect((await buyerApi.GET('/users/me/keyword-alerts')).data!.data.map((a) => a.id)).toContain(alert.data!.id);

    const listing = await post(s, tag);
    const notification = await eventually('the keyword alert notification', async () => {
      const list = await buyerApi.GET('/users/me/notifications');
      return list.data!.data.find((n) => n.keyword_alert?.product_id === listing.id);
    });
    expect(notification).toMatchObject({ object: 'notification', kind: 'keyword_alert', keyword_alert: { keyword: tag, alert_id: alert.data!.id, title: listing.title } });
    // The seller is never notified of their own listing.
    expect((await api({ token: s.token }).GET('/users/me/notifications')).data!.data).toEqual([]);

    expect((await buyerApi.DELETE('/users/me/keyword-alerts/{alert_id}', { params: { path: { alert_id: alert.data!.id } } })).response.status).toBe(204);
    expectProblem(outcome(await buyerApi.DELETE('/users/me/keyword-alerts/{alert_id}', { params: { path: { alert_id: alert.data!.id } } })), 404, 'not_found');
  });
});

describe.runIf(hasSandbox)('photo uploads that are refused', () => {
  it('when the upload is not a photo, carries a URL, is JSON, is not the seller\'s or has no token, then it is refused with the documented problem', async () => {
    const [s, other] = await Promise.all([seller('upx'), signUp('upo')]);
    const created = await post(s, newTag());
    expectProblem(await upload(s.token, created.id, [{ data: 'just text, not a photo', filename: 'photo.jpg' }]), 415, 'unsupported_image_type');
    expectProblem(await upload(s.token, created.id, [{ name: 'url', data: 'http://169.254.169.254/latest/meta-data/' }]), 400, 'unexpected_field');
    expectProblem(await upload(s.token, created.id, []), 400, 'no_images');
    expectProblem(await upload(other.token, created.id, [{ data: await jpeg(32, 32), filename: 'a.jpg' }]), 404, 'not_found');
    expectProblem(await upload(undefined, created.id, [{ data: await jpeg(32, 32), filename: 'a.jpg' }]), 401, 'unauthenticated');
    const json = await sendInvalid('api', `/products/${created.id}/images`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ images: ['https://example.com/a.jpg'] }),
    });
    expectProblem(json, 415, 'unsupported_media_type');
    // Nothing was kept.
    expect((await api({ token: s.token }).GET('/products/{product_id}/images', { params: { path: { product_id: created.id } } })).data!.data).toEqual([]);
  });
});

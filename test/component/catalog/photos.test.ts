import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Client } from 'pg';
import sharp from 'sharp';
import { Sequelize, Transaction } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createListing, sellerWithNeighbourhood, type Seller } from '../../support/catalog';
import { expectProblem, raw } from '../../support/http';
import { startIdentityStack, type IdentityStack, type SignedUpUser } from '../../support/identity';
import { heicAv1, heicHevc, heicHevcPhoto, HEVC_PHOTO, jpeg, jpegWithGps, png, pngBomb, webp } from '../../support/images';
import { PHOTO_SWEEP_GRACE_SECONDS, PROCESS_IMAGE_JOB, SWEEP_PHOTOS_JOB } from '../../../src/modules/products/images';
import { createPhotoRepository } from '../../../src/modules/products/images/data/photo-repository';
import { newImageId } from '../../../src/modules/products/images/domain/photo';
import { photoUploadPolicy, photoUseCases, type PhotosDeps } from '../../../src/modules/products/images/domain/photos';
import { createRequestContext } from '../../../src/platform/context';
import { createSequelize } from '../../../src/platform/db/sequelize';
import { eventRecorder } from '../../../src/platform/events/event-store';
import { settleWithin } from '../../../src/platform/jobs/settle-within';
import { createLogger } from '../../../src/platform/logger';
import { createObjectStorage, type ObjectStorage } from '../../../src/platform/storage';
import { waitFor } from '../../support/wait';
import { TEST_ENV } from '../../support/env';
import { connectRedis } from '../../../src/platform/redis';

let stack: IdentityStack;
let storageDir: string;
let seller: Seller;
let other: SignedUpUser;

beforeAll(async () => {
  storageDir = await mkdtemp(path.join(tmpdir(), 'junggo-photos-'));
  // Polling the seller's own views would otherwise spend the per-user request budget.
  stack = await startIdentityStack({ STORAGE_DIR: storageDir, RATE_LIMIT_MAX: '100000', PHOTO_UPLOAD_LIMIT: '1000' });
  seller = await sellerWithNeighbourhood(stack, 'photos');
  other = await stack.signUp('other');
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  if (storageDir) await rm(storageDir, { recursive: true, force: true });
});

type Json = Record<string, unknown>;
type Photo = { id: string; status: string; position: number; content_type: string; bytes: number; url?: string; thumbnail_url?: string; width?: number; height?: number; failure_reason?: string };
interface Part {
  data: Buffer;
  name: string;
  type: string;
}

const v1 = (p: string) => `${stack.api.url}/v1${p}`;
const auth = (user: SignedUpUser | null): Record<string, string> => (user ? { authorization: `Bearer ${user.token}` } : {});

function upload(user: SignedUpUser | null, productId: string, parts: Part[], fields: Record<string, string> = {}) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  for (const p of parts) form.append('images', new Blob([p.data], { type: p.type }), p.name);
  return raw(v1(`/products/${productId}/images`), { method: 'POST', headers: auth(user), body: form });
}
const list = (user: SignedUpUser | null, productId: string) => raw(v1(`/products/${productId}/images`), { headers: auth(user) });
const reorder = (user: SignedUpUser | null, productId: string, ids: string[]) =>
  raw(v1(`/products/${productId}/images/order`), { method: 'PUT', headers: { ...auth(user), 'content-type': 'application/json' }, body: JSON.stringify({ image_ids: ids }) });
const remove = (user: SignedUpUser | null, productId: string, imageId: string) => raw(v1(`/products/${productId}/images/${imageId}`), { method: 'DELETE', headers: auth(user) });
const product = (productId: string) => raw(v1(`/products/${productId}`));

const rows = async (productId: string) => (await stack.db.query('SELECT * FROM product_images WHERE product_id = $1 ORDER BY position, created_at', [productId])).rows as Json[];
const imageEvents = async (productId: string) =>
  (
    await stack.db.query(`SELECT payload FROM events WHERE aggregate_type = 'product' AND aggregate_id = $1 AND type = 'product.images_changed' ORDER BY aggregate_version`, [productId])
  ).rows.map((r: { payload: Json }) => r.payload as { product_id: string; images: { id: string; url: string; thumbnail_url: string; width: number; height: number; position: number }[] });

/** Every file stored under this listing's prefixes (originals and derivatives). */
async function storedFiles(productId: string): Promise<string[]> {
  const out: string[] = [];
  for (const prefix of ['originals', 'products']) {
    const dir = path.join(storageDir, prefix, productId);
    const names = await readdir(dir).catch(() => [] as string[]);
    out.push(...names.map((n) => `${prefix}/${productId}/${n}`));
  }
  return out.sort();
}

/** Waits until every live photo of the listing is processed (ready or failed). */
const processed = (productId: string, count: number) =>
  waitFor(`${count} processed photos`, async () => {
    const r = await rows(productId);
    const live = r.filter((x) => x.deleted_at === null);
    // Done with: processed or failed, and the original deleted (it is forgotten only then).
    return live.length === count && live.every((x) => x.status !== 'processing' && x.original_key === null) ? live : false;
  }, 20_000);

/** GET of a photo URL: its path on this API (the configured base names no reachable host in tests). */
const media = async (url: string) => {
  const res = await fetch(`${stack.api.url}${new URL(url).pathname}`);
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
};

/**
 * A processed photo as buyers get it: display and thumbnail served as WebP with no metadata at
 * all (no EXIF, so no GPS, and not the camera's name), the thumbnail 400 × 400, only the
 * derivatives left in storage, and one images_changed event describing it.
 */
async function expectServedClean(productId: string, imageId: string, shown: Photo, expected: { width: number; height: number; exifMarker: string }) {
  for (const url of [shown.url!, shown.thumbnail_url!]) {
    const file = await media(url);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('image/webp');
    expect(file.headers.get('cache-control')).toBe('public, max-age=86400, immutable');
    expect(file.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    const meta = await sharp(file.body).metadata();
    expect(meta.format).toBe('webp');
    expect(meta.exif).toBeUndefined();
    expect(meta.orientation).toBeUndefined();
    expect(file.body.includes(Buffer.from('Exif'))).toBe(false);
    expect(file.body.includes(Buffer.from(expected.exifMarker))).toBe(false);
  }
  const thumb = await sharp((await media(shown.thumbnail_url!)).body).metadata();
  expect([thumb.width, thumb.height]).toEqual([400, 400]);
  // Only the derivatives are left: the original (with its EXIF) is deleted.
  expect(await storedFiles(productId)).toEqual([`products/${productId}/${imageId}-thumb.webp`, `products/${productId}/${imageId}.webp`].sort());
  const [event] = await imageEvents(productId);
  expect(event).toEqual({ product_id: productId, images: [{ id: imageId, url: shown.url, thumbnail_url: shown.thumbnail_url, width: expected.width, height: expected.height, position: 0 }] });
}

/** This file posts more listings than a seller may in a day (30): each is dated past the daily window, which nothing here depends on. */
const newListing = async (user: Seller = seller) => {
  const { id } = await createListing(stack, user.token);
  await stack.db.query(`UPDATE products SET created_at = created_at - interval '25 hours' WHERE id = $1`, [id]);
  return id;
};
const part = (data: Buffer, name: string, type: string): Part => ({ data, name, type });

describe('POST /v1/products/{product_id}/images', () => {
  it('when the seller uploads a JPEG with GPS EXIF and orientation 6, then 202 processing, and once processed the display and thumbnail are upright WebP without any EXIF, the original is gone and the listing shows it', async () => {
    const id = await newListing();
    const original = await jpegWithGps(800, 600);
    const before = await sharp(original).metadata();
    expect(before.orientation).toBe(6);
    expect(before.exif?.includes(Buffer.from([0x25, 0x88]))).toBe(true); // the GPS IFD pointer (little-endian 0x8825)

    const res = await upload(seller, id, [part(original, 'IMG_0001.JPG', 'image/jpeg')]);
    expect(res.status).toBe(202);
    const accepted = (res.json.data as Photo[])[0]!;
    expect(accepted).toMatchObject({ object: 'product_image', status: 'processing', position: 0, content_type: 'image/jpeg', bytes: original.length });
    expect(accepted.id).toMatch(/^img_[0-9A-Z]{20}$/);
    expect(accepted.url).toBeUndefined();
    // Not shown to buyers while processing.
    expect((await product(id)).json.images).toEqual([]);

    const [stored] = await processed(id, 1);
    expect(stored).toMatchObject({ status: 'ready', original_key: null });
    const shown = await waitFor('the listing to show its photo', async () => {
      const p = await product(id);
      return (p.json.images as Photo[]).length === 1 ? (p.json.images as Photo[]) : false;
    });
    expect(shown[0]).toMatchObject({ id: accepted.id, position: 0, width: 600, height: 800 });

    await expectServedClean(id, accepted.id, shown[0]!, { width: 600, height: 800, exifMarker: 'JunggoTestCam' });
  });

  it('when a PNG, a WebP and a HEIC (heic brand, AV1-coded) are uploaded together, then each is detected, processed and shown in the order sent, the display capped at 1600 px', async () => {
    const id = await newListing();
    const res = await upload(seller, id, [part(await png(300, 200), 'a.png', 'image/png'), part(await webp(2400, 1200), 'b.webp', 'image/webp'), part(await heicAv1(640, 480), 'c.heic', 'image/heic')]);
    expect(res.status).toBe(202);
    expect((res.json.data as Photo[]).map((p) => [p.content_type, p.position])).toEqual([['image/png', 0], ['image/webp', 1], ['image/heic', 2]]);
    const live = await processed(id, 3);
    expect(live.map((r) => r.status)).toEqual(['ready', 'ready', 'ready']);
    const listed = (await list(seller, id)).json.data as Photo[];
    expect(listed.map((p) => [p.width, p.height])).toEqual([[300, 200], [1600, 800], [640, 480]]);
    const last = (await imageEvents(id)).at(-1)!;
    expect(last.images.map((i) => i.id)).toEqual(listed.map((p) => p.id));
  });

  it('when a real iPhone HEVC HEIC (stored sideways with irot and EXIF orientation 6, GPS in its EXIF) is uploaded, then it is processed to ready and shown upright as WebP without any EXIF, and the original is gone', async () => {
    const id = await newListing();
    const original = heicHevcPhoto();
    const res = await upload(seller, id, [part(original, 'IMG_0002.HEIC', 'image/heic')]);
    expect(res.status).toBe(202);
    const accepted = (res.json.data as Photo[])[0]!;
    expect(accepted).toMatchObject({ content_type: 'image/heic', status: 'processing', bytes: original.length });

    const [stored] = await processed(id, 1);
    expect(stored).toMatchObject({ status: 'ready', failure_reason: null, original_key: null, width: HEVC_PHOTO.width, height: HEVC_PHOTO.height });
    const shown = await waitFor('the listing to show its photo', async () => {
      const p = await product(id);
      return (p.json.images as Photo[]).length === 1 ? (p.json.images as Photo[]) : false;
    });
    expect(shown[0]).toMatchObject({ id: accepted.id, position: 0, width: HEVC_PHOTO.width, height: HEVC_PHOTO.height });
    await expectServedClean(id, accepted.id, shown[0]!, { width: HEVC_PHOTO.width, height: HEVC_PHOTO.height, exifMarker: 'iPhone 13' });
  });

  it('when an HEVC-coded HEIC has a valid header but a meaningless coded picture, then it is accepted but marked failed with image_undecodable, never shown, and the original is deleted', async () => {
    const id = await newListing();
    const res = await upload(seller, id, [part(heicHevc(), 'IMG_0003.HEIC', 'image/heic')]);
    expect(res.status).toBe(202);
    expect((res.json.data as Photo[])[0]).toMatchObject({ content_type: 'image/heic', status: 'processing' });
    const [stored] = await processed(id, 1);
    expect(stored).toMatchObject({ status: 'failed', failure_reason: 'image_undecodable', original_key: null });
    expect(((await list(seller, id)).json.data as Photo[])[0]).toMatchObject({ status: 'failed', failure_reason: 'image_undecodable' });
    expect((await product(id)).json.images).toEqual([]);
    expect(await imageEvents(id)).toEqual([]);
    expect(await storedFiles(id)).toEqual([]);
  });

  it('when the reply to the upload\'s COMMIT is lost after the rows committed, then the originals are kept, and the photos are processed and shown', async () => {
    const id = await newListing();
    // In this process (the API runs in it): the next transaction that inserts photo rows commits,
    // then fails as a connection dropped before the reply would.
    const inserting = new WeakSet<Transaction>();
    const query = Sequelize.prototype.query;
    const commit = Transaction.prototype.commit;
    Sequelize.prototype.query = function (this: Sequelize, sql: unknown, options?: { transaction?: Transaction | null }) {
      if (typeof sql === 'string' && sql.includes('INSERT INTO product_images') && options?.transaction) inserting.add(options.transaction);
      return query.call(this, sql as string, options as never);
    } as typeof query;
    Transaction.prototype.commit = async function (this: Transaction) {
      await commit.call(this);
      if (inserting.delete(this)) throw new Error('Connection terminated unexpectedly');
    };
    // The job waits until the answer is out, as it would behind a backlog: it must still find its original.
    const [processing] = stack.worker.jobs.queuesOf([PROCESS_IMAGE_JOB]);
    await processing!.pause(true);
    let res: Awaited<ReturnType<typeof upload>>;
    try {
      res = await upload(seller, id, [part(await jpeg(640, 480), 'lost-reply.jpg', 'image/jpeg')]);
    } finally {
      Sequelize.prototype.query = query;
      Transaction.prototype.commit = commit;
      await processing!.resume(true);
    }
    expect(res.status).toBe(500);
    // The row committed: its job ran on the original that was kept, not deleted as unrecorded.
    const [photo] = await processed(id, 1);
    expect(photo).toMatchObject({ status: 'ready', failure_reason: null, original_key: null });
    await waitFor('the listing to show the photo', async () => ((await product(id)).json.images as Photo[]).length === 1);
  });

  it('when a file named photo.jpg and declared image/jpeg is really text, then 415 unsupported_image_type pointing at it, and nothing is stored', async () => {
    const id = await newListing();
    const res = await upload(seller, id, [part(await jpeg(), 'ok.jpg', 'image/jpeg'), part(Buffer.from('hello, this is not a photo at all '.repeat(20)), 'photo.jpg', 'image/jpeg')]);
    expectProblem(res, 415, 'unsupported_image_type');
    expect(res.json.errors).toEqual([expect.objectContaining({ pointer: '/images/1', code: 'unsupported_image_type' })]);
    expect(await rows(id)).toEqual([]);
    expect(await storedFiles(id)).toEqual([]);
  });

  it('when an HEVC HEIC names a multi-layer HEVC brand (heim) as its major brand, then 415 unsupported_image_type: the decoder would refuse it', async () => {
    const id = await newListing();
    const photo = heicHevcPhoto();
    photo.write('heim', 8, 'latin1');
    const res = await upload(seller, id, [part(photo, 'IMG_0004.HEIC', 'image/heic')]);
    expectProblem(res, 415, 'unsupported_image_type');
    expect(res.json.errors).toEqual([expect.objectContaining({ pointer: '/images/0' })]);
    expect(await rows(id)).toEqual([]);
    expect(await storedFiles(id)).toEqual([]);
  });

  it('when a JPEG is named .png and declared image/png, then it is accepted as the JPEG it is', async () => {
    const id = await newListing();
    const res = await upload(seller, id, [part(await jpeg(), 'disguised.png', 'image/png')]);
    expect(res.status).toBe(202);
    expect((res.json.data as Photo[])[0]!.content_type).toBe('image/jpeg');
    expect((await processed(id, 1))[0]).toMatchObject({ status: 'ready', content_type: 'image/jpeg' });
  });

  it('when a file is over 10 MB, then 413 image_too_large pointing at it, and nothing is stored (not even the files before it)', async () => {
    const id = await newListing();
    const big = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(10 * 1024 * 1024)]);
    const res = await upload(seller, id, [part(await jpeg(), 'first.jpg', 'image/jpeg'), part(big, 'big.jpg', 'image/jpeg')]);
    expectProblem(res, 413, 'image_too_large');
    expect(res.json.errors).toEqual([expect.objectContaining({ pointer: '/images/1' })]);
    expect(await rows(id)).toEqual([]);
    expect(await storedFiles(id)).toEqual([]);
  });

  it('when a tiny PNG declares 20000 × 20000 pixels (a decompression bomb), then 422 image_pixel_limit_exceeded at once, from the header alone', async () => {
    const id = await newListing();
    const bomb = pngBomb(20_000);
    expect(bomb.length).toBeLessThan(200);
    const started = Date.now();
    const res = await upload(seller, id, [part(bomb, 'tiny.png', 'image/png')]);
    expectProblem(res, 422, 'image_pixel_limit_exceeded');
    expect(res.json.errors).toEqual([expect.objectContaining({ pointer: '/images/0', detail: expect.stringContaining('20000 × 20000') })]);
    expect(Date.now() - started).toBeLessThan(2_000); // decoding 400 MP would take far longer (and 1.2 GB)
    expect(await rows(id)).toEqual([]);
    expect(await storedFiles(id)).toEqual([]);
  });

  it('when a listing has 10 photos, then an 11th is refused with 409 image_limit_reached; and 11 files at once on an empty listing are refused whole', async () => {
    const id = await newListing();
    const ten = await Promise.all(Array.from({ length: 10 }, async (_, i) => part(await jpeg(64, 48), `p${i}.jpg`, 'image/jpeg')));
    expect((await upload(seller, id, ten)).status).toBe(202);
    const eleventh = await upload(seller, id, [part(await jpeg(), 'p10.jpg', 'image/jpeg')]);
    expectProblem(eleventh, 409, 'image_limit_reached');
    expect(await rows(id)).toHaveLength(10);

    const empty = await newListing();
    const eleven = [...ten, part(await jpeg(), 'p10.jpg', 'image/jpeg')];
    const res = await upload(seller, empty, eleven);
    expectProblem(res, 409, 'image_limit_reached');
    expect(await rows(empty)).toEqual([]);
    expect(await storedFiles(empty)).toEqual([]);
    await processed(id, 10);
  });

  it('when the body carries a text field (e.g. a URL to fetch), no file, or JSON, then 400 unexpected_field, 400 no_images, 415 unsupported_media_type', async () => {
    const id = await newListing();
    const withUrl = await upload(seller, id, [part(await jpeg(), 'a.jpg', 'image/jpeg')], { url: 'http://169.254.169.254/latest/meta-data/' });
    expectProblem(withUrl, 400, 'unexpected_field');
    expect(withUrl.json.errors).toEqual([expect.objectContaining({ pointer: '/url', code: 'unknown_field' })]);
    expectProblem(await upload(seller, id, []), 400, 'no_images');
    const json = await raw(v1(`/products/${id}/images`), { method: 'POST', headers: { ...auth(seller), 'content-type': 'application/json' }, body: JSON.stringify({ images: ['http://example.com/a.jpg'] }) });
    expectProblem(json, 415, 'unsupported_media_type');
    expect(await rows(id)).toEqual([]);
    expect(await storedFiles(id)).toEqual([]);
  });

  it('when a seller has made their uploads of the last 10 minutes, then the next is 429 photo_upload_limit_reached with Retry-After and nothing is stored; a refused upload (another\'s listing) counts nothing', async () => {
    const id = await newListing();
    const redis = await connectRedis(TEST_ENV.REDIS_URL);
    const counter = (userId: string) => `attempts:photo-uploads:${userId}`;
    try {
      await redis.del(counter(other.id));
      expectProblem(await upload(other, id, [part(await jpeg(), 'a.jpg', 'image/jpeg')]), 404, 'not_found');
      expect(await redis.get(counter(other.id))).toBeNull();
      // As after 999 uploads (PHOTO_UPLOAD_LIMIT is 1000 here): the next one is the last allowed.
      await redis.set(counter(seller.id), '999', 'EX', 600);
      expect((await upload(seller, id, [part(await jpeg(), 'a.jpg', 'image/jpeg')])).status).toBe(202);
      const refused = await upload(seller, id, [part(await jpeg(), 'b.jpg', 'image/jpeg')]);
      expectProblem(refused, 429, 'photo_upload_limit_reached');
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter > 0 && retryAfter <= 600).toBe(true);
      expect(await processed(id, 1)).toHaveLength(1);
    } finally {
      await redis.del(counter(seller.id));
      await redis.quit();
    }
  });

  it("when another user or nobody manages a listing's photos, then 404 not_found (401 anonymous) and nothing changes", async () => {
    const id = await newListing();
    expect((await upload(seller, id, [part(await jpeg(), 'a.jpg', 'image/jpeg')])).status).toBe(202);
    const [photo] = await processed(id, 1);
    expectProblem(await upload(other, id, [part(await jpeg(), 'b.jpg', 'image/jpeg')]), 404, 'not_found');
    expectProblem(await list(other, id), 404, 'not_found');
    expectProblem(await reorder(other, id, [String(photo!.id)]), 404, 'not_found');
    expectProblem(await remove(other, id, String(photo!.id)), 404, 'not_found');
    expectProblem(await upload(null, id, [part(await jpeg(), 'b.jpg', 'image/jpeg')]), 401, 'unauthenticated');
    expectProblem(await upload(seller, 'prd_00000000000000000000', [part(await jpeg(), 'b.jpg', 'image/jpeg')]), 404, 'not_found');
    expect((await rows(id)).map((r) => [r.id, r.deleted_at])).toEqual([[photo!.id, null]]);
  });
});

describe('PUT /v1/products/{product_id}/images/order and DELETE /v1/products/{product_id}/images/{image_id}', () => {
  it('when the seller reorders and deletes photos, then positions follow, the listing shows the new order at once, files of the deleted one are removed, and each change appends product.images_changed', async () => {
    const id = await newListing();
    const res = await upload(seller, id, [part(await jpeg(), 'a.jpg', 'image/jpeg'), part(await png(), 'b.png', 'image/png'), part(await jpeg(), 'c.jpg', 'image/jpeg')]);
    const [a, b, c] = (res.json.data as Photo[]).map((p) => p.id);
    await processed(id, 3);
    const eventsBefore = (await imageEvents(id)).length;

    const reordered = await reorder(seller, id, [c!, a!, b!]);
    expect(reordered.status).toBe(200);
    expect((reordered.json.data as Photo[]).map((p) => [p.id, p.position])).toEqual([[c, 0], [a, 1], [b, 2]]);
    await waitFor('the new order on the listing', async () => ((await product(id)).json.images as Photo[]).map((p) => p.id).join() === [c, a, b].join());
    expect((await imageEvents(id)).at(-1)!.images.map((i) => [i.id, i.position])).toEqual([[c, 0], [a, 1], [b, 2]]);

    expect((await remove(seller, id, a!)).status).toBe(204);
    expect(((await list(seller, id)).json.data as Photo[]).map((p) => [p.id, p.position])).toEqual([[c, 0], [b, 1]]);
    await waitFor('the deleted photo to leave the listing', async () => ((await product(id)).json.images as Photo[]).map((p) => p.id).join() === [c, b].join());
    expect((await storedFiles(id)).filter((f) => f.includes(a!))).toEqual([]);
    const events = await imageEvents(id);
    expect(events.length).toBe(eventsBefore + 2);
    expect(events.at(-1)!.images.map((i) => i.id)).toEqual([c, b]);
    expectProblem(await remove(seller, id, a!), 404, 'not_found');
  });

  it('when the listing itself is deleted, then its photos are deleted too: no file left, nothing served under /media', async () => {
    const id = await newListing();
    await upload(seller, id, [part(await jpeg(), 'a.jpg', 'image/jpeg'), part(await png(), 'b.png', 'image/png')]);
    await processed(id, 2);
    // The listing shows them once the read model has the images_changed events.
    const shown = await waitFor('the photos on the listing', async () => {
      const images = (await product(id)).json.images as Photo[];
      return images.length === 2 && images;
    });
    for (const p of shown) expect((await media(p.thumbnail_url!)).status).toBe(200);
    expect(await storedFiles(id)).toHaveLength(4);

    expect((await raw(v1(`/products/${id}`), { method: 'DELETE', headers: auth(seller) })).status).toBe(204);
    await waitFor('the photos to be deleted with the listing', async () => (await storedFiles(id)).length === 0);
    for (const p of shown) for (const url of [p.url!, p.thumbnail_url!]) expect((await media(url)).status).toBe(404);
    expect((await rows(id)).every((r) => r.deleted_at !== null)).toBe(true);
  });

  it('when files outlived their photos (a listing deleted before its photos were purged with it, a file written after its photo was deleted), then the sweep deletes them, once, and leaves live photos alone', async () => {
    const [gone, kept] = [await newListing(), await newListing()];
    await upload(seller, gone, [part(await jpeg(), 'a.jpg', 'image/jpeg'), part(await png(), 'b.png', 'image/png')]);
    await upload(seller, kept, [part(await jpeg(), 'c.jpg', 'image/jpeg'), part(await png(), 'd.png', 'image/png')]);
    await processed(gone, 2);
    const [keptLive, keptDeleted] = await processed(kept, 2);
    // As before the photos.deleted-listings subscriber: the listing deleted (two hours ago, past
    // the sweep's grace), its photos untouched.
    await stack.db.query(`UPDATE products SET deleted_at = now() - interval '2 hours' WHERE id = $1`, [gone]);
    // As when a processing job writes its derivative after the delete (or the delete failed).
    expect((await remove(seller, kept, keptDeleted!.id as string)).status).toBe(204);
    await stack.db.query(`UPDATE product_images SET deleted_at = now() - interval '2 hours' WHERE id = $1`, [keptDeleted!.id]);
    const leftover = path.join(storageDir, 'products', kept, `${keptDeleted!.id as string}.webp`);
    await mkdir(path.dirname(leftover), { recursive: true });
    await writeFile(leftover, randomBytes(64));
    expect(await storedFiles(gone)).toHaveLength(4);
    expect(await storedFiles(kept)).toHaveLength(3);

    await stack.worker.jobs.enqueue(SWEEP_PHOTOS_JOB, { grace_seconds: PHOTO_SWEEP_GRACE_SECONDS }, { causationId: `test-${randomBytes(4).toString('hex')}` });
    await waitFor('the sweep', async () => (await storedFiles(gone)).length === 0 && (await storedFiles(kept)).length === 2, 20_000);
    const keptLiveId = keptLive!.id as string;
    expect(await storedFiles(kept)).toEqual([`products/${kept}/${keptLiveId}-thumb.webp`, `products/${kept}/${keptLiveId}.webp`].sort());
    const swept = [...(await rows(gone)), ...(await rows(kept))];
    // Each deleted photo is marked swept, so later sweeps pass it by; the live one is untouched.
    for (const r of swept) {
      if (r.id === keptLiveId) expect([r.deleted_at, r.files_deleted_at]).toEqual([null, null]);
      else expect(r.deleted_at !== null && r.files_deleted_at !== null).toBe(true);
    }
    expect(swept).toHaveLength(4);
  });

  it('when a photo is still processing an hour after its upload, then the sweep queues it again if its job was lost, and marks it failed (original deleted) if its job is over', async () => {
    const [lostListing, overListing] = [await newListing(), await newListing()];
    const [lost, over] = [newImageId(), newImageId()];
    // A photo recorded two hours ago, its original stored, as an upload leaves it.
    const recorded = async (productId: string, imageId: string) => {
      const original = await jpeg();
      const key = `originals/${productId}/${imageId}`;
      await mkdir(path.join(storageDir, 'originals', productId), { recursive: true });
      await writeFile(path.join(storageDir, key), original);
      await stack.db.query(
        `INSERT INTO product_images (id, product_id, seller_id, original_key, content_type, bytes, position, status, created_at)
         VALUES ($1, $2, $3, $4, 'image/jpeg', $5, 0, 'processing', now() - interval '2 hours')`,
        [imageId, productId, seller.id, key, original.length],
      );
    };
    // Its job ran and finished before the photo existed (so it did nothing): the queue holds it as completed.
    await stack.worker.jobs.enqueue(PROCESS_IMAGE_JOB, { image_id: over }, { causationId: over });
    await waitFor('the early job done', async () => (await stack.worker.jobs.state(PROCESS_IMAGE_JOB, over)) === 'completed');
    await recorded(overListing, over);
    // Its job was never queued (Redis was down at the upload).
    await recorded(lostListing, lost);
    expect(await stack.worker.jobs.state(PROCESS_IMAGE_JOB, lost)).toBeNull();

    await stack.worker.jobs.enqueue(SWEEP_PHOTOS_JOB, { grace_seconds: PHOTO_SWEEP_GRACE_SECONDS }, { causationId: `test-${randomBytes(4).toString('hex')}` });
    const [ready] = await processed(lostListing, 1);
    expect(ready).toMatchObject({ id: lost, status: 'ready', original_key: null });
    const [failed] = await processed(overListing, 1);
    expect(failed).toMatchObject({ id: over, status: 'failed', failure_reason: 'processing_failed', original_key: null });
    expect(await storedFiles(overListing)).toEqual([]);
    expect(await storedFiles(lostListing)).toEqual([`products/${lostListing}/${lost}-thumb.webp`, `products/${lostListing}/${lost}.webp`].sort());
  });

  it('when the order leaves a photo out or names one of another listing, then 422 image_order_mismatch and the order is unchanged', async () => {
    const id = await newListing();
    const res = await upload(seller, id, [part(await jpeg(), 'a.jpg', 'image/jpeg'), part(await jpeg(), 'b.jpg', 'image/jpeg')]);
    const [a, b] = (res.json.data as Photo[]).map((p) => p.id);
    const elsewhere = await newListing();
    const foreign = ((await upload(seller, elsewhere, [part(await jpeg(), 'x.jpg', 'image/jpeg')])).json.data as Photo[])[0]!.id;
    expectProblem(await reorder(seller, id, [b!]), 422, 'image_order_mismatch');
    expectProblem(await reorder(seller, id, [b!, foreign]), 422, 'image_order_mismatch');
    expectProblem(await reorder(seller, id, [b!, b!]), 400, 'validation_failed');
    expect((await rows(id)).map((r) => r.id)).toEqual([a, b]);
    await processed(id, 2);
    await processed(elsewhere, 1);
  });
});

describe('GET /media/products/{product_id}/{file_name}', () => {
  it('when a path names no processed photo, or reaches for an original, then 404 problem', async () => {
    const id = await newListing();
    const res = await upload(seller, id, [part(await jpegWithGps(), 'a.jpg', 'image/jpeg')]);
    const photoId = (res.json.data as Photo[])[0]!.id;
    // While processing, the original exists but is never reachable through /media.
    for (const p of [`/media/originals/${id}/${photoId}`, `/media/products/${id}/../../originals/${id}/${photoId}`, `/media/products/${id}/img_00000000000000000000.webp`]) {
      const r = await raw(`${stack.api.url}${p}`);
      expectProblem(r, 404, 'not_found');
    }
    await processed(id, 1);
    // The listing's folder, and a file being written beside a derivative, are not objects either
    // (the folder's read failed after the 200 had gone out: the connection was reset).
    const partial = path.join(storageDir, 'products', id, `${photoId}.webp.0a1b2c3d4e5f.part`);
    await writeFile(partial, randomBytes(32));
    for (const p of [`/media/products/${id}`, `/media/products/${id}/`, `/media/products/${id}/${photoId}.webp.0a1b2c3d4e5f.part`]) {
      expectProblem(await raw(`${stack.api.url}${p}`), 404, 'not_found');
    }
    expect((await raw(`${stack.api.url}/media/products/${id}/${photoId}.webp`)).status).toBe(200);
  });
});

describe('the photos use cases, with the queue and the storage made to misbehave', () => {
  const log = createLogger('silent', 'test');
  let sequelize: Sequelize;
  let storage: ObjectStorage;
  beforeAll(() => {
    sequelize = createSequelize({ url: stack.api.config.DATABASE_URL, poolMax: 4 }, log);
    storage = createObjectStorage({ STORAGE_DIR: storageDir, S3_REGION: 'x', S3_FORCE_PATH_STYLE: false });
  });
  afterAll(() => sequelize?.close());

  const useCases = (overrides: Partial<PhotosDeps> = {}) =>
    photoUseCases({
      sequelize,
      photos: createPhotoRepository(sequelize),
      storage,
      recordEvents: eventRecorder(sequelize),
      enqueueProcessing: async () => undefined,
      processingState: async () => null,
      mediaUrl: (key) => `http://media.test/${key}`,
      uploads: { policy: photoUploadPolicy(1000), hit: async () => ({ allowed: true }) },
      ...overrides,
    });
  const sellerCtx = () => Object.assign(createRequestContext(`req_${randomBytes(6).toString('hex')}`, log), { actor: { userId: seller.id, roles: [], sessionId: 'ses_test' } });
  const run = (signal = new AbortController().signal, finalAttempt = false) => ({ jobId: 'test-job', finalAttempt, log, signal });

  /** A photo as an upload leaves it: processing, its original stored; recorded `secondsAgo` ago. No job is queued for it. */
  async function uploaded(productId: string, secondsAgo = 0): Promise<string> {
    const imageId = newImageId();
    const original = await jpeg();
    const key = `originals/${productId}/${imageId}`;
    await storage.put(key, original, 'application/octet-stream');
    await stack.db.query(
      `INSERT INTO product_images (id, product_id, seller_id, original_key, content_type, bytes, position, status, created_at)
       VALUES ($1, $2, $3, $4, 'image/jpeg', $5, 0, 'processing', now() - make_interval(secs => $6))`,
      [imageId, productId, seller.id, key, original.length, secondsAgo],
    );
    return imageId;
  }

  it('when a photo has been processing for over a minute and queueing it never settles (Redis down), then the seller still gets the list, and the photo was handed to the queue once however often the list is read', async () => {
    const id = await newListing();
    const imageId = await uploaded(id, 120);
    const asked: string[] = [];
    const photos = useCases({ enqueueProcessing: (queued) => (asked.push(queued), new Promise(() => undefined)) });
    const listed = await settleWithin(photos.list(sellerCtx(), id), 5_000);
    expect(listed?.map((p) => [p.id, p.status])).toEqual([[imageId, 'processing']]);
    expect(asked).toEqual([imageId]);
    // Read again while that queueing still hangs: it is not started a second time.
    expect(await settleWithin(photos.list(sellerCtx(), id), 5_000)).toHaveLength(1);
    expect(asked).toEqual([imageId]);
  });

  it('when the worker gives up on a photo while another change of its listing holds the listing, then it waits for the listing before it locks the photo, the order every change of photos takes (no deadlock)', async () => {
    const id = await newListing();
    const imageId = await uploaded(id);
    const photos = useCases();
    const other = new Client({ connectionString: stack.api.config.DATABASE_URL });
    await other.connect();
    let givenUp: Promise<void> | undefined;
    try {
      await other.query('BEGIN');
      await other.query('SELECT 1 FROM products WHERE id = $1 FOR UPDATE', [id]);
      const { pid } = (await other.query('SELECT pg_backend_pid() AS pid')).rows[0] as { pid: number };
      givenUp = photos.processingAbandoned(imageId, log);
      await waitFor('the give-up waiting for the listing', async () => (await stack.db.query('SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [pid])).rowCount);
      // What remove() or process() does next under the listing's lock: the give-up must not hold it.
      await other.query('SELECT 1 FROM product_images WHERE id = $1 FOR UPDATE NOWAIT', [imageId]);
      await other.query('COMMIT');
    } finally {
      await other.end();
      await givenUp;
    }
    expect((await rows(id))[0]).toMatchObject({ id: imageId, status: 'failed', failure_reason: 'processing_failed', original_key: null });
    expect(await storedFiles(id)).toEqual([]);
  });

  it('when storage fails after the display version was stored, on the last attempt, then the photo is failed and nothing of it is left in storage (no derivative served under /media)', async () => {
    const id = await newListing();
    const imageId = await uploaded(id);
    const thumbFails: ObjectStorage = { ...storage, put: (key, body, type) => (key.endsWith('-thumb.webp') ? Promise.reject(new Error('storage unavailable')) : storage.put(key, body, type)) };
    await expect(useCases({ storage: thumbFails }).process(imageId, run(undefined, true))).rejects.toThrow('storage unavailable');
    expect((await rows(id))[0]).toMatchObject({ status: 'failed', failure_reason: 'processing_failed', original_key: null });
    expect(await storedFiles(id)).toEqual([]);
  });

  it('when the job times out while the photo is being processed, then the run stores nothing more and leaves the photo to its retry', async () => {
    const id = await newListing();
    const imageId = await uploaded(id);
    const timeout = new AbortController();
    // The timeout comes while the original is read (the job's clock runs out during the work).
    const timingOut: ObjectStorage = { ...storage, get: async (key) => storage.get(key).finally(() => timeout.abort(new Error('job timed out'))) };
    await expect(useCases({ storage: timingOut }).process(imageId, run(timeout.signal))).rejects.toThrow('job timed out');
    expect((await rows(id))[0]).toMatchObject({ status: 'processing', original_key: `originals/${id}/${imageId}` });
    expect(await storedFiles(id)).toEqual([`originals/${id}/${imageId}`]);
  });

  it('when the original cannot be deleted after the photo is ready (or the worker dies first), then it stays recorded, and the sweep deletes it and forgets it, leaving the shown files', async () => {
    const id = await newListing();
    const imageId = await uploaded(id);
    const originalStays: ObjectStorage = { ...storage, delete: (keys) => (keys.some((k) => k.startsWith('originals/')) ? Promise.reject(new Error('storage unavailable')) : storage.delete(keys)) };
    await useCases({ storage: originalStays }).process(imageId, run());
    const original = `originals/${id}/${imageId}`;
    expect((await rows(id))[0]).toMatchObject({ status: 'ready', original_key: original });
    expect(await storedFiles(id)).toContain(original);
    // Within the sweep's grace it is left alone; past it, deleted.
    const photos = useCases();
    await photos.sweep(PHOTO_SWEEP_GRACE_SECONDS, log);
    expect(await storedFiles(id)).toContain(original);
    await stack.db.query(`UPDATE product_images SET updated_at = now() - interval '2 hours' WHERE id = $1`, [imageId]);
    expect((await photos.sweep(PHOTO_SWEEP_GRACE_SECONDS, log)).originals).toBeGreaterThanOrEqual(1);
    expect(await storedFiles(id)).toEqual([`products/${id}/${imageId}-thumb.webp`, `products/${id}/${imageId}.webp`].sort());
    expect((await rows(id))[0]).toMatchObject({ status: 'ready', original_key: null, deleted_at: null });
  });

  it('when the order names a photo twice (past the validator), then 422 image_order_mismatch and the order is unchanged', async () => {
    const id = await newListing();
    const [a, b] = [await uploaded(id), await uploaded(id)];
    await stack.db.query('UPDATE product_images SET position = 1 WHERE id = $1', [b]);
    await expect(useCases().reorder(sellerCtx(), id, [a, a, b])).rejects.toMatchObject({ status: 422, code: 'image_order_mismatch' });
    expect((await rows(id)).map((r) => [r.id, r.position])).toEqual([[a, 0], [b, 1]]);
  });

  it('when a put left a temporary file behind (its process died) over an hour ago, then the sweep removes it and leaves a recent one', async () => {
    // As a put leaves its file while writing: made where a put in progress writes its own.
    const partFiles = async () => (await readdir(storageDir, { recursive: true })).filter((f) => f.endsWith('.part')).sort();
    const earlier = await partFiles();
    const stalled = new PassThrough();
    stalled.write(randomBytes(100));
    const inProgress = storage.put(`originals/${await newListing()}/${newImageId()}`, stalled, 'application/octet-stream').catch(() => undefined);
    const [recent] = await waitFor('the put writing', async () => {
      const files = (await partFiles()).filter((f) => !earlier.includes(f));
      return files.length === 1 && files;
    });
    const dead = path.join(path.dirname(recent!), `${randomBytes(12).toString('hex')}.part`);
    await writeFile(path.join(storageDir, dead), randomBytes(100));
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(path.join(storageDir, dead), twoHoursAgo, twoHoursAgo);

    await stack.worker.jobs.enqueue(SWEEP_PHOTOS_JOB, { grace_seconds: PHOTO_SWEEP_GRACE_SECONDS }, { causationId: `test-${randomBytes(4).toString('hex')}` });
    await waitFor('the sweep', async () => !(await partFiles()).includes(dead), 20_000);
    expect(await partFiles()).toContain(recent);
    stalled.destroy(new Error('gone'));
    await inProgress;
  });
});

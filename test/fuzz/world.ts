import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { Config } from '../../src/config';
import { startNiceSimulator } from '../../src/integrations/identity';
import { startSmsSimulator } from '../../src/integrations/sms';
import { startKakaoSimulator } from '../../src/integrations/social';
import { startGoogleSimulator } from '../../src/integrations/social/google-simulator';
import { CURRENT_LOCATION_TERMS_VERSION } from '../../src/modules/neighbourhoods/domain/neighbourhood';
import { MANGWON, createListing, sellerWithNeighbourhood } from '../support/catalog';
import { tokenFor } from '../support/app';
import { raw } from '../support/http';
import { startIdentityStack, type IdentityStack, type SignedUpUser } from '../support/identity';
import { jpeg, pngBomb } from '../support/images';
import { providerEnv } from '../support/providers';
import { waitFor } from '../support/wait';
import { createOwnCategory } from './harness';
import type { SampleFile } from './multipart';
import type { RequestPools } from './requests';

/**
 * The world the fuzzer runs in: the API with its worker and every provider simulated (a valid
 * request must never meet a 503 because Google is not there), and resources of its own, made
 * through the API as a client would, that its writes may aim at:
 * - a category under `other` (seeded by SQL: no API creates categories);
 * - four accounts: a seller with a verified neighbourhood, an admin and two buyers; every token
 *   names one of them (writes on an own resource mostly its owner, staff roles only the admin);
 * - the seller's listings: one that edits, bumps, likes and the other photo operations share
 *   (with two processed photos, and its posting time moved back a day so that one bump can
 *   succeed); three that only `uploadProductImages` aims at (30 photos' room: a full listing
 *   refuses an upload before reading it); three that only `changeProductStatus` aims at (`sold`
 *   is final, `hidden` hides); three that only `deleteProduct` aims at (each is gone after its
 *   first valid delete);
 * - keyword alerts of a buyer, for `deleteKeywordAlert`, and the notifications one of them
 *   produced (a listing posted after it), for `updateMyNotification` and `markMyNotificationsRead`.
 * The rate limit is out of reach (three accounts send thousands of requests); every other
 * limit of the API stays as configured.
 */
export interface FuzzWorld {
  stack: IdentityStack;
  config: Config;
  baseUrl: string;
  category: { id: string; path: string };
  seller: SignedUpUser;
  buyers: SignedUpUser[];
  listings: { shared: string; uploads: string[]; status: string[]; deletable: string[] };
  photos: string[];
  alerts: string[];
  notifications: string[];
  pools: Pick<RequestPools, 'users' | 'owners' | 'exclusive'> & { ownIds: string[] };
  files: { samples: SampleFile[]; bomb: Buffer };
  /** Deletes, through the API, the photos of the upload listings: room again for forms to be read. */
  makeRoom(): Promise<void>;
  /**
   * Gives the seller back a verified neighbourhood when valid requests took it away (its own
   * `withdrawLocationConsent` or `deleteMyNeighbourhood`), so that later listings can be posted.
   */
  restore(): Promise<void>;
  stop(): Promise<void>;
}

/** Tiny real images (and the bomb), made once: some uploads are ones the server keeps. */
export async function sampleFiles(): Promise<{ samples: SampleFile[]; bomb: Buffer }> {
  const solid = (w: number, h: number) => sharp({ create: { width: w, height: h, channels: 3, background: { r: 200, g: 120, b: 40 } } });
  return {
    samples: [
      { label: 'PNG 1×1', data: await solid(1, 1).png().toBuffer(), type: 'image/png' },
      { label: 'PNG 40×30', data: await solid(40, 30).png().toBuffer(), type: 'image/png' },
      { label: 'JPEG 16×16', data: await solid(16, 16).jpeg().toBuffer(), type: 'image/jpeg' },
      { label: 'JPEG 320×240', data: await jpeg(320, 240), type: 'image/jpeg' },
      { label: 'WebP 20×20', data: await solid(20, 20).webp().toBuffer(), type: 'image/webp' },
    ],
    bomb: pngBomb(),
  };
}

export async function startFuzzWorld(seed: number): Promise<FuzzWorld> {
  const storageDir = await mkdtemp(path.join(tmpdir(), 'junggo-fuzz-'));
  const callback = 'http://127.0.0.1:9/auth/social';
  const sms = await startSmsSimulator({ port: 0 });
  const google = await startGoogleSimulator({ port: 0, redirectUris: [`${callback}/google/callback`] });
  const kakao = await startKakaoSimulator({ port: 0, redirectUris: [`${callback}/kakao/callback`] });
  const nice = await startNiceSimulator({ port: 0 });
  const stack = await startIdentityStack({
    STORAGE_DIR: storageDir,
    RATE_LIMIT_MAX: '1000000',
    PHOTO_UPLOAD_LIMIT: '1000000',
    ...providerEnv({ sms, google, kakao, nice }),
    SOCIAL_REDIRECT_URIS: callback,
  });
  const stopAll = async () => {
    await stack.stop();
    for (const s of [sms, google, kakao, nice]) await s.stop();
    await rm(storageDir, { recursive: true, force: true });
  };
  try {
    const v1 = `${stack.api.url}/v1`;
    const category = await createOwnCategory(stack.db, seed);
    const [seller, admin, ...buyers] = await Promise.all([sellerWithNeighbourhood(stack, 'fuzzseller'), stack.signUp('fuzzadmin'), stack.signUp('fuzzbuyer'), stack.signUp('fuzzbuyer')]);
    // Staff permissions come from the database: the admin is made as start-test-app makes its first one.
    await stack.db.query(`UPDATE users SET roles = '{user,admin}' WHERE id = $1`, [admin!.id]);
    const listing = async () => (await createListing(stack, seller!.token)).id;
    const [shared, ...rest] = await Promise.all(Array.from({ length: 10 }, listing));
    const uploads = rest.slice(0, 3);
    const status = rest.slice(3, 6);
    const deletable = rest.slice(6);
    // Listings the posting checks flag (a messenger id), for the moderators' review queue.
    const flagged = await Promise.all(
      Array.from({ length: 3 }, async (_, i) => (await createListing(stack, seller!.token, { title: `퍼징 검수 ${seed} ${i}`, description: '문의는 카톡 아이디 fuzz77 로 주세요' })).id),
    );
    // One bump may succeed: the listing looks posted a day and an hour ago.
    await stack.db.query(`UPDATE products SET bumped_at = bumped_at - interval '25 hours', created_at = created_at - interval '25 hours' WHERE id = $1`, [shared]);

    const form = new FormData();
    for (const i of [0, 1]) form.append('images', new Blob([await jpeg(64 + i, 48)], { type: 'image/jpeg' }), `setup-${i}.jpg`);
    const up = await raw(`${v1}/products/${shared}/images`, { method: 'POST', headers: { authorization: `Bearer ${seller!.token}` }, body: form });
    if (up.status !== 202) throw new Error(`fuzz world: photo upload failed: ${up.status} ${up.text}`);
    const photos = (up.json.data as { id: string }[]).map((p) => p.id);
    await waitFor(
      'the setup photos to be processed',
      async () => {
        const { rows } = await stack.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM product_images WHERE product_id = $1 AND status = 'ready'`, [shared]);
        return rows[0]!.n === photos.length;
      },
      20_000,
    );

    const alerts: string[] = [];
    for (const keyword of ['퍼징 자전거', 'fuzz camera', '아이폰']) {
      const res = await raw(`${v1}/users/me/keyword-alerts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${buyers[0]!.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ keyword }),
      });
      if (res.status !== 201) throw new Error(`fuzz world: keyword alert failed: ${res.status} ${res.text}`);
      alerts.push(res.json.id as string);
    }
    // Two listings the first alert announces: the buyer's notifications, real ones.
    const announced = await Promise.all([1, 2].map(async (i) => (await createListing(stack, seller!.token, { title: `퍼징 자전거 ${seed} ${i}` })).id));
    const notifications = await waitFor(
      "the buyer's notifications",
      async () => {
        const { rows } = await stack.db.query<{ id: string }>(`SELECT id FROM notifications WHERE user_id = $1 AND product_id = ANY($2)`, [buyers[0]!.id, announced]);
        return rows.length === announced.length && rows.map((r) => r.id);
      },
      20_000,
    );

    // Not the session's token: a valid request may end that session (a password change would).
    const sellerToken = () => tokenFor(stack.api.config, [], seller!.id);
    const owners: Record<string, string> = {};
    for (const id of [shared!, ...uploads, ...status, ...deletable, ...flagged, ...photos]) owners[id] = seller!.id;
    for (const id of [...alerts, ...notifications]) owners[id] = buyers[0]!.id;
    return {
      stack,
      config: stack.api.config,
      baseUrl: stack.api.url,
      category,
      seller: seller!,
      buyers,
      listings: { shared: shared!, uploads, status, deletable },
      photos,
      alerts,
      notifications,
      pools: {
        ownIds: [category.id, shared!, ...uploads, ...status, ...deletable, ...flagged, ...photos, ...alerts, ...notifications],
        users: [{ id: seller!.id, roles: ['user'] }, { id: admin!.id, roles: ['user', 'admin'] }, ...buyers.map((b) => ({ id: b.id, roles: ['user'] }))],
        owners,
        exclusive: { uploadProductImages: uploads, changeProductStatus: status, deleteProduct: deletable, reviewFlaggedProduct: flagged },
      },
      files: await sampleFiles(),
      async restore() {
        const auth = { authorization: `Bearer ${sellerToken()}`, 'content-type': 'application/json' };
        const mine = await raw(`${v1}/users/me/neighbourhoods`, { headers: auth });
        if (mine.status === 200 && (mine.json.data as { active: boolean }[]).some((n) => n.active)) return;
        const consent = await raw(`${v1}/users/me/location-consent`, { method: 'PUT', headers: auth, body: JSON.stringify({ terms_version: CURRENT_LOCATION_TERMS_VERSION }) });
        const verified = await raw(`${v1}/users/me/neighbourhoods`, { method: 'POST', headers: auth, body: JSON.stringify({ lat: MANGWON.lat, lng: MANGWON.lng }) });
        if (consent.status !== 200 || verified.status !== 200) throw new Error(`fuzz world: could not restore the seller's neighbourhood: ${consent.status} ${verified.status} ${verified.text}`);
      },
      async makeRoom() {
        const auth = { authorization: `Bearer ${sellerToken()}` };
        for (const id of uploads) {
          const list = await raw(`${v1}/products/${id}/images`, { headers: auth });
          if (list.status !== 200) throw new Error(`fuzz world: listing the photos of ${id} failed: ${list.status} ${list.text}`);
          for (const photo of list.json.data as { id: string }[]) {
            const del = await raw(`${v1}/products/${id}/images/${photo.id}`, { method: 'DELETE', headers: auth });
            if (del.status !== 204) throw new Error(`fuzz world: deleting photo ${photo.id} failed: ${del.status} ${del.text}`);
          }
        }
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

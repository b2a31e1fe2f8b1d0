/**
 * Starts the real API for the black-box suites (newman/Portman, the Prism e2e run), with the world
 * around it: the worker (outbox relay, projections, e-mail and SMS jobs) and simulators for SMTP,
 * SENS (SMS), Google, Kakao and NICE, all in this process, plus the sandbox (test/e2e/sandbox-server.ts),
 * the suites' HTTP view of that world (read a mail or an SMS, walk a provider's window).
 *
 * It migrates the test database, listens on an ephemeral port, seeds a category of its own under
 * `other` (the admin flows rename it, never the shared reference tree) and provisions, through the
 * API itself, the accounts the collection needs: every run makes new ones (unique addresses and
 * nicknames), so nothing a previous run did (locks, suspensions, second factors, a changed
 * password) can leak into this one. Only the first admin is made by SQL: no API grants a role
 * without an admin. The catalog likewise (provisionCatalog): a seller with a verified
 * neighbourhood, a buyer, listings with processed photos, a keyword alert and the notification
 * it produced; only a bumpable listing needs SQL (a bump waits 24 hours). Then it writes what the
 * suites need (URLs, real tokens, ids, codes) as JSON to the file given, and a JPEG (`upload.jpg`)
 * next to it for the collection's upload. SIGTERM/SIGINT stop everything and remove the seeded
 * category.
 *
 *   node --import tsx scripts/start-test-app.ts <state.json>
 *
 * Test environment as in test/support/env.ts (TEST_DATABASE_URL, TEST_REDIS_URL, TEST_LOG_LEVEL).
 */
import { createHash, randomBytes, randomInt, randomUUID } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Secret, TOTP } from 'otpauth';
import { Client } from 'pg';
import sharp from 'sharp';
import { migrate } from '../src/cli/migrate';
import { startSmtpSimulator, type SmtpSimulator } from '../src/integrations/email/smtp-simulator';
import { startNiceSimulator } from '../src/integrations/identity';
import { startSmsSimulator, type SmsSimulator } from '../src/integrations/sms';
import { startKakaoSimulator, type KakaoSimulator } from '../src/integrations/social';
import { followRedirects, startGoogleSimulator } from '../src/integrations/social/google-simulator';
import { categoryId } from '../src/modules/categories/domain/category-id';
import { CURRENT_LOCATION_TERMS_VERSION } from '../src/modules/neighbourhoods/domain/neighbourhood';
import { signAccessToken } from '../src/platform/http/auth';
import { createLogger } from '../src/platform/logger';
import { runProcess } from '../src/runtime';
import { startApi } from '../src/server';
import { startWorker } from '../src/worker';
import { newKakaoUser, startSandbox } from '../test/e2e/sandbox-server';
import { testConfig } from '../test/support/env';
import { dropQueues } from '../test/support/queues';
import { providerEnv } from '../test/support/providers';

export interface TestAppState {
  /** Origin of the app: the operational routes (health, metrics, docs, openapi.*, admin/queues) live here. */
  opsBaseUrl: string;
  /** Base URL of the partner API (`<origin>/v1`). */
  baseUrl: string;
  /** Where the suites read mail and SMS and walk provider windows (test/e2e/sandbox-server.ts). */
  sandboxUrl: string;
  /** A real admin's session. */
  adminToken: string;
  /** A real user's session (roles: user). */
  userToken: string;
  /** Well-formed, but signed with another key: must be a 401 wherever it is sent. */
  invalidToken: string;
  /** A category of this run's own, under `other`, that the admin flows may rename. */
  ownCategoryId: string;
  ownCategoryPath: string;
  /** Everything else the collection's requests use, as newman variables (docs/qa.md lists them). */
  vars: Record<string, string>;
}

const stateFile = process.argv[2];
if (!stateFile) {
  process.stderr.write('usage: node --import tsx scripts/start-test-app.ts <state.json>\n');
  process.exit(64);
}

const PASSWORD = 'Sangmu-2024!';
const NEW_PASSWORD = 'Mangwon-2026!';
// The providers' callback page: never contacted, the walk stops at the redirect pointing here.
const CALLBACK_BASE = 'http://127.0.0.1:9/auth/social';
const callbackOf = (provider: 'google' | 'kakao') => `${CALLBACK_BASE}/${provider}/callback`;

const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'warn', 'test-app');

const uniqueIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
const uniquePhone = () => `010-${String(randomInt(10_000)).padStart(4, '0')}-${String(randomInt(10_000)).padStart(4, '0')}`;
const totpCode = (secret: string) => TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });

interface Session {
  access_token: string;
  refresh_token: string;
  session_id: string;
  user_id: string;
}

interface Account {
  email: string;
  password: string;
  nickname: string;
  phone?: string;
  id: string;
}

/** Provisioning through the API, as a client would, reading mail and SMS from the simulators. */
function provisioner(baseUrl: string, smtp: SmtpSimulator, sms: SmsSimulator) {
  async function call<T = Record<string, unknown>>(method: string, path: string, status: number, opts: { body?: unknown; token?: string } = {}): Promise<T> {
    // A FormData body (photo uploads) sets its own multipart Content-Type.
    const form = opts.body instanceof FormData;
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      redirect: 'manual',
      headers: {
        'x-forwarded-for': uniqueIp(),
        ...(opts.body === undefined || form ? {} : { 'content-type': 'application/json' }),
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      },
      ...(opts.body === undefined ? {} : { body: form ? (opts.body as FormData) : JSON.stringify(opts.body) }),
    });
    const text = await res.text();
    if (res.status !== status) throw new Error(`provisioning: ${method} ${path} -> ${res.status}, expected ${status}: ${text.slice(0, 400)}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  const linkToken = async (to: string, category: string) => {
    const mail = await smtp.waitFor((m) => m.envelope.to.includes(to) && m.category === category, 15_000);
    const token = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail.text ?? '')?.[1];
    if (!token) throw new Error(`provisioning: no link in the ${category} mail to ${to}`);
    return token;
  };
  const smsCode = async (phone: string, index: number) => {
    const to = phone.replace(/-/g, '');
    const until = Date.now() + 15_000;
    for (;;) {
      const message = sms.messages().filter((m) => m.to === to)[index];
      const code = message && /\[(\d{6})\]/.exec(message.content)?.[1];
      if (code) return code;
      if (Date.now() > until) throw new Error(`provisioning: no SMS #${index} to ${phone}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  /** A new person: unique address and nickname per run (the tag stays clear of reserved names). */
  const person = (tag: string, withPhone = false) => {
    const suffix = randomBytes(4).toString('hex');
    return { email: `qa-${tag}-${suffix}@example.com`, password: PASSWORD, nickname: `qa${tag}${suffix}`, ...(withPhone ? { phone: uniquePhone() } : {}) };
  };

  const register = async (p: ReturnType<typeof person>) => {
    await call('POST', '/auth/register', 202, { body: p });
    return linkToken(p.email, 'identity.verify-email');
  };

  const login = async (a: Pick<Account, 'email' | 'password'>, device = 'QA runner') => {
    const result = await call<Session & { object: string }>('POST', '/auth/login', 200, { body: { email: a.email, password: a.password, device_name: device } });
    if (result.object !== 'session_tokens') throw new Error(`provisioning: ${a.email} got ${result.object} instead of a session`);
    return result;
  };

  /** Registered, confirmed by the e-mailed link, signed in once (which gives the id). */
  const signUp = async (tag: string, withPhone = false): Promise<Account & { session: Session }> => {
    const p = person(tag, withPhone);
    await call('POST', '/auth/verify-email', 200, { body: { token: await register(p) } });
    const session = await login(p);
    return { ...p, id: session.user_id, session };
  };

  return { call, linkToken, smsCode, person, register, login, signUp };
}

/** 망원동: the point a seller verifies, as a phone in 망원2동 would report it. */
const MANGWON = { lat: 37.5563, lng: 126.9019 };
/** A leaf of the reference tree (휴대폰): listings need a leaf, and the QA category is renamed by the admin flows. */
const PHONES = categoryId('digital/phones');

const until = async <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> => {
  for (const end = Date.now() + timeoutMs; ; ) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`provisioning: ${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

const photo = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: randomInt(256), g: randomInt(256), b: 120 } } })
    .jpeg()
    .toBuffer();

/**
 * The catalog the collection and the scenarios work on, made through the API: a seller with a
 * verified neighbourhood and a buyer; the seller's listings (one with two processed photos for
 * the detail, photo and like operations, one whose status changes, one to bump, one to delete);
 * one the posting checks flag, for the review queue; the buyer's keyword alert on this run's tag, the notification it produced when the listing
 * was posted, and a search in their history. Every listing's title carries the tag, so a search
 * for it lists this run's listings only (the test database holds every other suite's too).
 * Only the bump needs SQL: its listing is made to look posted 25 hours ago (a bump waits 24 h).
 */
async function provisionCatalog(p: ReturnType<typeof provisioner>, db: Client, uploadFile: string) {
  const tag = `qa${randomBytes(4).toString('hex')}`;
  const [seller, buyer] = await Promise.all([p.signUp('seller'), p.signUp('buyer')]);
  const st = seller.session.access_token;
  const bt = buyer.session.access_token;
  await p.call('PUT', '/users/me/location-consent', 200, { token: st, body: { terms_version: CURRENT_LOCATION_TERMS_VERSION } });
  const dong = await p.call<{ dong_code: string }>('POST', '/users/me/neighbourhoods', 200, { token: st, body: MANGWON });
  // Before the listing that matches it, so that posting it notifies the buyer.
  const alert = await p.call<{ id: string }>('POST', '/users/me/keyword-alerts', 201, { token: bt, body: { keyword: tag } });

  const listing = (role: string, price: number) =>
    p.call<{ id: string }>('POST', '/products', 201, {
      token: st,
      body: {
        title: `QA ${role} 아이폰 14 ${tag}`,
        description: `계약 테스트용 매물 (${role}, ${tag}). 직거래 선호합니다.`,
        category_id: PHONES,
        price,
        condition: 'like_new',
        trade_methods: ['meet_up', 'parcel'],
        shipping_fee: 3500,
      },
    });
  const main = await listing('detail', 850_000);
  // One the posting checks flag (a messenger id), for the moderators' review queue.
  const flagged = await p.call<{ id: string }>('POST', '/products', 201, {
    token: st,
    body: { title: `QA 검수 캠핑 의자 ${tag}`, description: `문의는 카톡 아이디 ${tag} 로 주세요.`, category_id: PHONES, price: 30_000, condition: 'used', trade_methods: ['meet_up'] },
  });
  const [statusListing, bumpListing, deleteListing] = await Promise.all([listing('status', 640_000), listing('bump', 720_000), listing('delete', 510_000)]);
  await db.query(`UPDATE products SET bumped_at = bumped_at - interval '25 hours', created_at = created_at - interval '25 hours' WHERE id = $1`, [bumpListing.id]);
  // The buyer likes one listing from the start, so that their likes are never an empty list.
  await p.call('PUT', `/products/${statusListing.id}/like`, 200, { token: bt });

  const form = new FormData();
  for (const [i, size] of [[0, [800, 600]], [1, [600, 800]]] as const) form.append('images', new Blob([await photo(size[0], size[1])], { type: 'image/jpeg' }), `qa-${i}.jpg`);
  const uploaded = await p.call<{ data: { id: string }[] }>('POST', `/products/${main.id}/images`, 202, { token: st, body: form });
  type Photo = { id: string; status: string; url?: string };
  const photos = await until('the photos to be processed', async () => {
    const list = await p.call<{ data: Photo[] }>('GET', `/products/${main.id}/images`, 200, { token: st });
    return list.data.length === 2 && list.data.every((x) => x.status === 'ready') ? list.data : undefined;
  });
  // The file the collection's upload sends (newman reads it from disk).
  await writeFile(uploadFile, await photo(640, 480));

  const notification = await until('the notification of the keyword alert', async () => {
    const list = await p.call<{ data: { id: string }[] }>('GET', '/users/me/notifications', 200, { token: bt });
    return list.data[0];
  });
  // The search index follows events: wait until a search finds all four listings, which also
  // puts the search in the buyer's history.
  await until('the search index to list the listings', async () => {
    const found = await p.call<{ data: { id: string }[] }>('GET', `/products?q=${tag}`, 200, { token: bt });
    return found.data.length >= 4 ? true : undefined;
  });

  const [first, second] = photos as [Photo, Photo];
  return {
    catalogTag: tag,
    sellerId: seller.id,
    sellerToken: st,
    sellerDongCode: dong.dong_code,
    buyerId: buyer.id,
    buyerToken: bt,
    buyerAlertId: alert.id,
    buyerNotificationId: notification.id,
    phonesCategoryId: PHONES,
    productId: main.id,
    // The photos in the order the reorder asks for (second first), the one the collection deletes,
    // and the file of the one that stays, for getMediaObject.
    productImageIds: JSON.stringify([second.id, first.id]),
    productImageId: first.id,
    deleteImageId: second.id,
    mediaFileName: new URL(first.url!).pathname.split('/').pop()!,
    uploadedImageIds: uploaded.data.map((x) => x.id).join(','),
    statusProductId: statusListing.id,
    bumpProductId: bumpListing.id,
    deleteProductId: deleteListing.id,
    flaggedProductId: flagged.id,
  };
}

async function provision(baseUrl: string, db: Client, smtp: SmtpSimulator, sms: SmsSimulator, kakaoSim: KakaoSimulator, uploadFile: string) {
  const p = provisioner(baseUrl, smtp, sms);
  const clientVerifier = randomBytes(32).toString('base64url');
  const clientChallenge = createHash('sha256').update(clientVerifier).digest('base64url');

  const admin = async () => {
    const a = await p.signUp('boss');
    await db.query(`UPDATE users SET roles = '{user,admin}' WHERE id = $1`, [a.id]);
    // Signed in again: the roles are in the access token.
    return { ...a, session: await p.login(a, 'QA admin') };
  };

  /** The main user: a phone, and three sessions (the suite's own, one to revoke, one to log out). */
  const user = async () => {
    const a = await p.signUp('user', true);
    const [other, logout] = [await p.login(a, 'Old tablet'), await p.login(a, 'Logout phone')];
    return { ...a, other, logout };
  };

  const pending = async () => {
    const a = p.person('pending');
    return { ...a, verifyToken: await p.register(a) };
  };

  const reset = async () => {
    const a = await p.signUp('reset');
    await p.call('POST', '/auth/reset-password', 202, { body: { email: a.email } });
    return { ...a, resetToken: await p.linkToken(a.email, 'identity.reset-password') };
  };

  /** Authenticator app and SMS codes on; signed in with the password, which stops at the challenge. */
  const challenged = async () => {
    const a = await p.signUp('chal', true);
    const token = a.session.access_token;
    const { secret } = await p.call<{ secret: string }>('POST', '/users/me/two-factor/totp', 200, { token, body: { password: a.password } });
    const enabled = await p.call<{ recovery_codes: string[] }>('POST', '/users/me/two-factor/totp/confirm', 200, { token, body: { code: totpCode(secret) } });
    await p.call('POST', '/users/me/two-factor/sms', 202, { token, body: { password: a.password } });
    await p.call('POST', '/users/me/two-factor/sms/confirm', 200, { token, body: { code: await p.smsCode(a.phone!, 0) } });
    const challenge = await p.call<{ object: string; challenge_token: string }>('POST', '/auth/login', 200, { body: { email: a.email, password: a.password } });
    if (challenge.object !== 'login_challenge') throw new Error(`provisioning: expected a login challenge, got ${challenge.object}`);
    return { ...a, secret, recoveryCodes: enabled.recovery_codes, challengeToken: challenge.challenge_token };
  };

  /** A password account whose Kakao sign-in (same verified address) asks to confirm the link. */
  const linking = async () => {
    const a = await p.signUp('link');
    const start = await p.call<{ authorization_url: string }>('GET', `/auth/kakao?${new URLSearchParams({ client_challenge: clientChallenge, mode: 'json' })}`, 200);
    const kakao = { ...newKakaoUser(), email: a.email };
    kakaoSim.setNextUser(kakao);
    const { params } = await followRedirects(start.authorization_url, callbackOf('kakao'));
    const result = await p.call<{ object: string; link_token: string }>('POST', '/auth/social/callback', 200, {
      body: { provider: 'kakao', ...Object.fromEntries(params), client_verifier: clientVerifier },
    });
    if (result.object !== 'social_link_required') throw new Error(`provisioning: expected social_link_required, got ${result.object}`);
    return { ...a, linkToken: result.link_token };
  };

  const [catalog, adm, usr, pend, rst, pass, twofa, chal, target, link] = await Promise.all([
    provisionCatalog(p, db, uploadFile),
    admin(),
    user(),
    pending(),
    reset(),
    p.signUp('pass'),
    p.signUp('twofa', true),
    challenged(),
    p.signUp('target'),
    linking(),
  ]);

  // getUser reads the public profile from the read model, which the worker builds from events.
  for (const until = Date.now() + 20_000; ; ) {
    const res = await fetch(`${baseUrl}/users/${usr.id}`, { headers: { 'x-forwarded-for': uniqueIp() } });
    await res.text();
    if (res.status === 200) break;
    if (Date.now() > until) throw new Error(`provisioning: the public profile of ${usr.id} did not appear (${res.status})`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const fresh = p.person('new', true);
  const vars: Record<string, string> = {
    ...catalog,
    userPassword: PASSWORD,
    newPassword: NEW_PASSWORD,
    // registerUser: an address and nickname no account has.
    newEmail: fresh.email,
    newNickname: fresh.nickname,
    newPhone: fresh.phone!,
    newProfileNickname: `qaprof${randomBytes(4).toString('hex')}`,
    adminUserId: adm.id,
    adminNickname: adm.nickname,
    adminSessionId: adm.session.session_id,
    userId: usr.id,
    userEmail: usr.email,
    // Query values are sent as they are: the spec's (default) allowReserved: false wants `@` encoded.
    userEmailInQuery: encodeURIComponent(usr.email),
    userPhone: usr.phone!,
    userSessionId: usr.session.session_id,
    userOtherSessionId: usr.other.session_id,
    logoutToken: usr.logout.access_token,
    pendingEmail: pend.email,
    verifyEmailToken: pend.verifyToken,
    resetEmail: rst.email,
    resetToken: rst.resetToken,
    passwordUserToken: pass.session.access_token,
    twoFactorUserToken: twofa.session.access_token,
    twoFactorUserPhone: twofa.phone!,
    challengeEmail: chal.email,
    challengePhone: chal.phone!,
    challengeToken: chal.challengeToken,
    challengeTotpSecret: chal.secret,
    challengeRecoveryCode: chal.recoveryCodes[0]!,
    challengeRecoveryCode2: chal.recoveryCodes[1]!,
    targetUserId: target.id,
    linkEmail: link.email,
    linkToken: link.linkToken,
    idempotencyKey: randomUUID(),
    socialClientVerifier: clientVerifier,
    socialClientChallenge: clientChallenge,
    // suspendUser: a week from now (the spec allows from one access-token lifetime to a year).
    suspendUntil: new Date(Date.now() + 7 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  return { adminToken: adm.session.access_token, userToken: usr.session.access_token, vars };
}

runProcess(
  log,
  async () => {
    const started = Date.now();
    const smtp = await startSmtpSimulator({ port: 0 });
    const sms = await startSmsSimulator({ port: 0 });
    const google = await startGoogleSimulator({ port: 0, redirectUris: [callbackOf('google')] });
    const kakaoSim = await startKakaoSimulator({ port: 0, redirectUris: [callbackOf('kakao')] });
    const nice = await startNiceSimulator({ port: 0 });
    const config = testConfig({
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      SMTP_URL: smtp.url,
      ...providerEnv({ sms, google, kakao: kakaoSim, nice }),
      SOCIAL_REDIRECT_URIS: CALLBACK_BASE,
    });
    const tokens = { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER };

    await migrate(config.DATABASE_URL, config.REDIS_URL, 'warn');
    const api = await startApi(config, log);
    const worker = await startWorker(config, createLogger(config.LOG_LEVEL, 'test-worker'));
    const sandbox = await startSandbox({ smtp, sms, google, kakao: kakaoSim, callbackOf });
    const db = new Client({ connectionString: config.DATABASE_URL });
    await db.connect();
    const slug = `qa-${randomUUID().slice(0, 8)}`;
    const path = `other/${slug}`;
    const id = categoryId(path);
    await db.query(
      `INSERT INTO categories (id, parent_id, name, slug, depth, path, sort_order) VALUES ($1, $2, $3, $4, 1, $5, 9500)`,
      [id, categoryId('other'), 'QA 계약 테스트', slug, path],
    );
    const stop = async () => {
      await db.query('DELETE FROM categories WHERE id = $1', [id]).catch((err) => log.error({ err }, 'could not remove the seeded category'));
      await db.end();
      await sandbox.stop();
      await worker.stop();
      await api.stop();
      await dropQueues(config.REDIS_URL, config.QUEUE_PREFIX).catch((err) => log.error({ err }, 'could not remove the Bull queues'));
      for (const simulator of [smtp, sms, google, kakaoSim, nice]) await simulator.stop();
    };
    try {
      const accounts = await provision(`${api.url}/v1`, db, smtp, sms, kakaoSim, join(dirname(resolve(stateFile)), 'upload.jpg'));
      const state: TestAppState = {
        opsBaseUrl: api.url,
        baseUrl: `${api.url}/v1`,
        sandboxUrl: sandbox.url,
        adminToken: accounts.adminToken,
        userToken: accounts.userToken,
        invalidToken: signAccessToken({ sub: `usr_qa_${randomUUID()}`, sid: `ses_${randomUUID()}`, roles: ['admin'] }, { ...tokens, secret: `not-the-key-${randomUUID()}` }),
        ownCategoryId: id,
        ownCategoryPath: path,
        vars: accounts.vars,
      };
      // Written whole or not at all: the scripts poll for this file.
      await writeFile(`${stateFile}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
      await rename(`${stateFile}.tmp`, stateFile);
    } catch (err) {
      await stop();
      throw err;
    }
    log.warn({ url: api.url, sandbox: sandbox.url, category: path, ms: Date.now() - started }, 'test app ready');
    return { stop };
  },
  // Long enough for the worker, the app and five simulators to close in turn.
  20_000,
);

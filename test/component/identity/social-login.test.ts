import { createHash, randomBytes, randomInt, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '../../../sdk';
import { loadConfig } from '../../../src/config';
import { followRedirects, GOOGLE_SIMULATOR_DEFAULTS, startGoogleSimulator, type GoogleSimulator } from '../../../src/integrations/social/google-simulator';
import { KAKAO_SIMULATOR_DEFAULTS, startKakaoSimulator, type KakaoSimulator } from '../../../src/integrations/social/kakao-simulator';
import { expectProblem, raw, uniqueIp } from '../../support/http';
import { startIdentityStack, type IdentityStack } from '../../support/identity';
import { providerEnv } from '../../support/providers';

// The callback page the providers send the browser back to. Never contacted: followRedirects stops
// at the redirect pointing here and hands over its query, as the page would to the API.
const CALLBACK_BASE = 'http://127.0.0.1:9/auth/social';
const OTHER_BASE = 'https://app.junggo.test/auth/social';
const callbackOf = (provider: 'google' | 'kakao', base = CALLBACK_BASE) => `${base}/${provider}/callback`;

let stack: IdentityStack;
let google: GoogleSimulator;
let kakao: KakaoSimulator;
let db: Client;

beforeAll(async () => {
  const redirectUris = (p: 'google' | 'kakao') => [callbackOf(p), callbackOf(p, OTHER_BASE)];
  google = await startGoogleSimulator({ port: 0, redirectUris: redirectUris('google') });
  kakao = await startKakaoSimulator({ port: 0, redirectUris: redirectUris('kakao') });
  stack = await startIdentityStack({
    ...providerEnv({ google, kakao }),
    SOCIAL_REDIRECT_URIS: `${CALLBACK_BASE},${OTHER_BASE}`,
  });
  db = new Client({ connectionString: stack.api.config.DATABASE_URL });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await stack?.stop();
  await google?.stop();
  await kakao?.stop();
});

const api = (path: string) => `${stack.api.url}/v1${path}`;
const post = (path: string, body: unknown, ip = uniqueIp()) =>
  raw(api(path), { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': ip }, body: JSON.stringify(body) });

const newClientSecret = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

/** A browser starting a sign-in: GET /auth/{provider} without following the 302. */
async function start(provider: 'google' | 'kakao', query: Record<string, string> = {}) {
  const client = newClientSecret();
  const res = await fetch(`${api(`/auth/${provider}`)}?${new URLSearchParams({ client_challenge: client.challenge, ...query })}`, {
    redirect: 'manual',
    headers: { 'x-forwarded-for': uniqueIp() },
  });
  await res.text();
  return { res, client };
}

/** The whole browser leg: start, walk the provider's pages, and what the callback page receives. */
async function walk(provider: 'google' | 'kakao') {
  const { res, client } = await start(provider);
  expect(res.status).toBe(302);
  const { params } = await followRedirects(res.headers.get('location')!, callbackOf(provider));
  return { params, client, callbackBody: (extra: Record<string, unknown> = {}) => ({ provider, ...Object.fromEntries(params), client_verifier: client.verifier, ...extra }) };
}

async function socialLogin(provider: 'google' | 'kakao', extra: Record<string, unknown> = {}) {
  const { callbackBody } = await walk(provider);
  return post('/auth/social/callback', callbackBody(extra));
}

const uniqueGoogleUser = (overrides: Partial<{ email: string; emailVerified: boolean; name: string }> = {}) => {
  const id = randomUUID();
  return { subject: `g-${id}`, email: `g-${id.slice(0, 8)}@gmail.test`, emailVerified: true, name: '홍길동', ...overrides };
};
// Kakao member numbers are positive safe integers; random ones keep runs from colliding.
const uniqueKakaoUser = (overrides: Partial<{ email: string; emailVerified: boolean; nickname: string }> = {}) => {
  const id = 5_000_000_000 + randomInt(1, 2 ** 47);
  return { id, email: `k-${id}@kakao.test`, emailValid: true, emailVerified: true, nickname: '망원동주민', ...overrides };
};

const eventsOf = async (userId: string) =>
  (await db.query(`SELECT type, payload FROM events WHERE aggregate_type = 'user' AND aggregate_id = $1 ORDER BY aggregate_version`, [userId])).rows as {
    type: string;
    payload: Record<string, unknown>;
  }[];
const linksOf = async (userId: string) =>
  (await db.query(`SELECT provider, subject FROM social_identities WHERE user_id = $1 ORDER BY provider`, [userId])).rows as { provider: string; subject: string }[];

describe('GET /v1/auth/google and /v1/auth/kakao', () => {
  it('when a browser starts a Google sign-in, then 302 to the provider with state, nonce and an S256 challenge for the default callback, and nothing cacheable', async () => {
    const { res } = await start('google');
    expect(res.status).toBe(302);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const location = new URL(res.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(`${google.url}/auth`);
    expect(location.searchParams.get('redirect_uri')).toBe(callbackOf('google'));
    expect(location.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(location.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(location.searchParams.get('code_challenge_method')).toBe('S256');
    expect(location.searchParams.get('client_id')).toBe(google.clientId);
  });

  it('when a client asks for mode=json with another configured callback page, then 200 social_login_start pointing Kakao at that page', async () => {
    const client = newClientSecret();
    const start = unwrap(
      await stack.api.client().GET('/auth/kakao', { params: { query: { client_challenge: client.challenge, mode: 'json', redirect_uri: callbackOf('kakao', OTHER_BASE) } } }),
    );
    expect(start).toMatchObject({ object: 'social_login_start', provider: 'kakao' });
    const url = new URL(start.authorization_url);
    expect(`${url.origin}${url.pathname}`).toBe(`${kakao.url}/oauth/authorize`);
    expect(url.searchParams.get('redirect_uri')).toBe(callbackOf('kakao', OTHER_BASE));
    expect(Date.parse(start.expires_at) - Date.now()).toBeGreaterThan(9 * 60_000);
  });

  it('when redirect_uri is not a configured callback page, then 400 redirect_uri_not_allowed and no redirect (never an open redirect)', async () => {
    const query = new URLSearchParams({ client_challenge: newClientSecret().challenge, redirect_uri: 'https://evil.example/auth/social/google/callback' });
    const res = await raw(`${api('/auth/google')}?${query}`, { redirect: 'manual' });
    expectProblem(res, 400, 'redirect_uri_not_allowed');
    expect(res.headers.get('location')).toBeNull();
    expect(res.json.errors).toEqual([expect.objectContaining({ parameter: 'redirect_uri', in: 'query' })]);
  });

  it('when client_challenge is missing, then 400 validation_failed naming it', async () => {
    const res = await raw(api('/auth/google'), { redirect: 'manual' });
    expectProblem(res, 400, 'validation_failed');
    expect(res.json.errors).toContainEqual(expect.objectContaining({ parameter: 'client_challenge', in: 'query' }));
  });
});

describe('POST /v1/auth/social/callback', () => {
  it('when a new Google user with a verified address signs in, then an account is created (verified, no password, generated nickname), signed in, and the profile works', async () => {
    const person = uniqueGoogleUser();
    google.setNextUser(person);

    const res = await socialLogin('google', { device_name: 'Pixel 9' });

    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ object: 'session_tokens', token_type: 'Bearer' });
    const userId = res.json.user_id as string;
    const profile = unwrap(await stack.api.client({ token: res.json.access_token as string }).GET('/users/profile'));
    expect(profile).toMatchObject({ id: userId, email: person.email, email_verified: true });
    expect(profile.nickname).toMatch(/^홍길동\d{4}$/);
    const { rows } = await db.query(`SELECT password_hash FROM users WHERE id = $1`, [userId]);
    expect(rows[0].password_hash).toBeNull();
    expect(await linksOf(userId)).toEqual([{ provider: 'google', subject: person.subject }]);
    const events = await eventsOf(userId);
    expect(events.map((e) => e.type)).toEqual(['user.registered', 'user.email_verified', 'user.social_linked', 'user.logged_in']);
    expect(events[0]!.payload).toMatchObject({ method: 'social', provider: 'google' });
    expect(events[3]!.payload).toMatchObject({ method: 'google', device_name: 'Pixel 9' });
    // No stored e-mail in clear: the link keeps the address encrypted.
    const stored = await db.query(`SELECT email_enc FROM social_identities WHERE provider = 'google' AND subject = $1`, [person.subject]);
    expect(stored.rows[0].email_enc).not.toContain(person.email);
  });

  it('when a linked Google user signs in again, then the same account is signed in with a new session and no second account', async () => {
    const person = uniqueGoogleUser();
    google.setNextUser(person);
    const first = await socialLogin('google');
    const second = await socialLogin('google');
    expect(second.status).toBe(200);
    expect(second.json.user_id).toBe(first.json.user_id);
    expect(second.json.session_id).not.toBe(first.json.session_id);
    expect((await eventsOf(first.json.user_id as string)).filter((e) => e.type === 'user.registered')).toHaveLength(1);
  });

  it('when a new Kakao user signs in and again later, then one account is created from the user info and signed in both times (method kakao)', async () => {
    const person = uniqueKakaoUser();
    kakao.setNextUser(person);

    const first = await socialLogin('kakao');
    expect(first.status).toBe(200);
    const userId = first.json.user_id as string;
    const profile = unwrap(await stack.api.client({ token: first.json.access_token as string }).GET('/users/profile'));
    expect(profile).toMatchObject({ email: person.email, email_verified: true });
    expect(profile.nickname).toMatch(/^망원동주민\d{4}$/);
    expect(await linksOf(userId)).toEqual([{ provider: 'kakao', subject: String(person.id) }]);

    const again = await socialLogin('kakao');
    expect(again.json.user_id).toBe(userId);
    const logins = (await eventsOf(userId)).filter((e) => e.type === 'user.logged_in');
    expect(logins.map((e) => e.payload.method)).toEqual(['kakao', 'kakao']);
    // The simulator saw the documented calls: authorize, token (once per login), user info.
    expect(kakao.requests().filter((r) => r.path === '/v2/user/me' && r.status === 200).length).toBeGreaterThanOrEqual(2);
  });

  it('when the state is used a second time, then 422 invalid_state and nobody is signed in', async () => {
    const person = uniqueGoogleUser();
    google.setNextUser(person);
    const { callbackBody } = await walk('google');
    expect((await post('/auth/social/callback', callbackBody())).status).toBe(200);
    expectProblem(await post('/auth/social/callback', callbackBody()), 422, 'invalid_state');
  });

  it('when the state is unknown or tampered with, then 422 invalid_state and the code is never redeemed', async () => {
    google.setNextUser(uniqueGoogleUser());
    const { params, callbackBody } = await walk('google');
    const state = params.get('state')!;
    const tampered = `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`;
    const tokenCallsBefore = google.requests().filter((r) => r.path === '/token').length;

    expectProblem(await post('/auth/social/callback', callbackBody({ state: tampered })), 422, 'invalid_state');
    expectProblem(await post('/auth/social/callback', callbackBody({ state: randomBytes(32).toString('base64url') })), 422, 'invalid_state');
    expect(google.requests().filter((r) => r.path === '/token').length).toBe(tokenCallsBefore);
  });

  it('when the callback is planted in another client (its client_verifier differs), then 422 invalid_state (login CSRF)', async () => {
    google.setNextUser(uniqueGoogleUser());
    const { callbackBody } = await walk('google');
    expectProblem(await post('/auth/social/callback', callbackBody({ client_verifier: newClientSecret().verifier })), 422, 'invalid_state');
  });

  it('when a Google state is completed as Kakao, then 422 invalid_state', async () => {
    google.setNextUser(uniqueGoogleUser());
    const { callbackBody } = await walk('google');
    expectProblem(await post('/auth/social/callback', callbackBody({ provider: 'kakao' })), 422, 'invalid_state');
  });

  it('when the person declines at the provider, then 422 social_login_cancelled', async () => {
    kakao.denyNext();
    const res = await socialLogin('kakao');
    expectProblem(res, 422, 'social_login_cancelled');
  });

  it('when Google\'s token endpoint answers 503, then 503 provider_unavailable with Retry-After, and the generic 500 is not used', async () => {
    google.setNextUser(uniqueGoogleUser());
    const { callbackBody } = await walk('google');
    google.failNext(1, 503);
    const res = await post('/auth/social/callback', callbackBody());
    expectProblem(res, 503, 'provider_unavailable');
    expect(res.headers.get('retry-after')).toBe('30');
    expect(JSON.stringify(res.json)).not.toContain('Simulated');
  });

  it('when Kakao\'s user info answers 500, then 503 provider_unavailable', async () => {
    kakao.setNextUser(uniqueKakaoUser());
    const { callbackBody } = await walk('kakao');
    kakao.failNext(1, 500, 'user');
    expectProblem(await post('/auth/social/callback', callbackBody()), 503, 'provider_unavailable');
  });

  // (An ID token with a bad signature is refused by the client: test/integrations/google.test.ts. Here the
  // API's provider has already cached the simulator's keys, so the JWKS cannot be swapped under it.)
  it('when the provider refuses the code (already redeemed elsewhere), then 422 social_login_failed and no account', async () => {
    const person = uniqueKakaoUser();
    kakao.setNextUser(person);
    const { params, callbackBody } = await walk('kakao');
    // Someone spends the code first (with the wrong verifier): Kakao then answers invalid_grant to the API.
    const spent = await fetch(`${kakao.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: kakao.clientId, client_secret: kakao.clientSecret, code: params.get('code')!, redirect_uri: callbackOf('kakao'), code_verifier: 'x'.repeat(43) }),
    });
    expect(spent.status).toBe(400);

    expectProblem(await post('/auth/social/callback', callbackBody()), 422, 'social_login_failed');
    expect((await db.query(`SELECT 1 FROM social_identities WHERE provider = 'kakao' AND subject = $1`, [String(person.id)])).rowCount).toBe(0);
  });

  it('when the provider does not vouch for the address, then 422 social_email_unverified: no account is matched, linked or created', async () => {
    const owner = await stack.signUp('unv');
    const person = uniqueGoogleUser({ email: owner.email, emailVerified: false });
    google.setNextUser(person);

    expectProblem(await socialLogin('google'), 422, 'social_email_unverified');

    expect(await linksOf(owner.id)).toEqual([]);
    expect((await db.query(`SELECT 1 FROM social_identities WHERE subject = $1`, [person.subject])).rowCount).toBe(0);
    // A Kakao account that shares no address at all: the same.
    kakao.setNextUser({ id: 5_000_000_000 + randomInt(1, 2 ** 47), nickname: '무명' });
    expectProblem(await socialLogin('kakao'), 422, 'social_email_unverified');
  });
});

describe('linking a social account to an existing account (POST /v1/auth/social/link)', () => {
  it('when the address has an account, then no sign-in but social_link_required; a wrong password is refused; the right one links and signs in; the next social sign-in is direct', async () => {
    const owner = await stack.signUp('link');
    const person = uniqueGoogleUser({ email: owner.email.toUpperCase() });
    google.setNextUser(person);

    const res = await socialLogin('google');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ object: 'social_link_required', provider: 'google', email: owner.email, confirm_with: 'password' });
    expect(res.json).not.toHaveProperty('access_token');
    const linkToken = res.json.link_token as string;
    expect(linkToken).toMatch(/^sl_/);
    expect(await linksOf(owner.id)).toEqual([]);

    expectProblem(await post('/auth/social/link', { link_token: linkToken, password: 'Wrong-pass1' }), 401, 'invalid_credentials');
    expect(await linksOf(owner.id)).toEqual([]);

    const linked = await post('/auth/social/link', { link_token: linkToken, password: owner.password, device_name: 'iPhone 16' });
    expect(linked.status).toBe(200);
    expect(linked.json).toMatchObject({ object: 'session_tokens', user_id: owner.id });
    expect(await linksOf(owner.id)).toEqual([{ provider: 'google', subject: person.subject }]);
    const events = await eventsOf(owner.id);
    expect(events.find((e) => e.type === 'user.social_linked')?.payload).toEqual({ user_id: owner.id, provider: 'google' });
    expect(events.at(-1)).toMatchObject({ type: 'user.logged_in', payload: { method: 'google', device_name: 'iPhone 16' } });

    // The token was spent by the link.
    expectProblem(await post('/auth/social/link', { link_token: linkToken, password: owner.password }), 422, 'invalid_link_token');
    const direct = await socialLogin('google');
    expect(direct.json).toMatchObject({ object: 'session_tokens', user_id: owner.id });
  });

  it('when a social account got linked to one account, then a pending link of it to a second account is refused with 409 social_account_taken', async () => {
    const first = await stack.signUp('taken1');
    const second = await stack.signUp('taken2');
    const person = uniqueKakaoUser({ email: first.email });
    kakao.setNextUser(person);
    const toFirst = await socialLogin('kakao');
    // The person's Kakao address changes to the second account's before either link is confirmed.
    kakao.setNextUser({ ...person, email: second.email });
    const toSecond = await socialLogin('kakao');
    expect([toFirst.json.object, toSecond.json.object]).toEqual(['social_link_required', 'social_link_required']);

    expect((await post('/auth/social/link', { link_token: toFirst.json.link_token, password: first.password })).status).toBe(200);
    expectProblem(await post('/auth/social/link', { link_token: toSecond.json.link_token, password: second.password }), 409, 'social_account_taken');

    expect(await linksOf(second.id)).toEqual([]);
    expect(await linksOf(first.id)).toEqual([{ provider: 'kakao', subject: String(person.id) }]);
  });

  it('when the account was created by another social sign-in (no password), then confirm_with is password_reset and linking with a password is 422 password_not_set', async () => {
    const person = uniqueKakaoUser();
    kakao.setNextUser(person);
    const created = await socialLogin('kakao');
    expect(created.json.object).toBe('session_tokens');

    google.setNextUser(uniqueGoogleUser({ email: person.email }));
    const res = await socialLogin('google');
    expect(res.json).toMatchObject({ object: 'social_link_required', confirm_with: 'password_reset' });
    expectProblem(await post('/auth/social/link', { link_token: res.json.link_token, password: 'Anything-1' }), 422, 'password_not_set');
  });

  it('when the link token is unknown, then 422 invalid_link_token', async () => {
    expectProblem(await post('/auth/social/link', { link_token: `sl_${randomBytes(32).toString('base64url')}`, password: 'Sangmu-2024!' }), 422, 'invalid_link_token');
  });
});

describe('configuration', () => {
  it('when nothing is configured, then the social settings are the simulator-cli defaults (make start works out of the box)', () => {
    const config = loadConfig({});
    expect(config.GOOGLE_ISSUER).toBe('http://127.0.0.1:4040');
    expect([config.GOOGLE_CLIENT_ID, config.GOOGLE_CLIENT_SECRET]).toEqual([GOOGLE_SIMULATOR_DEFAULTS.clientId, GOOGLE_SIMULATOR_DEFAULTS.clientSecret]);
    expect([config.KAKAO_AUTH_URL, config.KAKAO_API_URL]).toEqual(['http://127.0.0.1:4041', 'http://127.0.0.1:4041']);
    expect([config.KAKAO_CLIENT_ID, config.KAKAO_CLIENT_SECRET]).toEqual([KAKAO_SIMULATOR_DEFAULTS.clientId, KAKAO_SIMULATOR_DEFAULTS.clientSecret]);
    expect(config.SOCIAL_REDIRECT_URIS.map((b) => `${b}/google/callback`)).toEqual(GOOGLE_SIMULATOR_DEFAULTS.redirectUris);
    expect(config.SOCIAL_REDIRECT_URIS.map((b) => `${b}/kakao/callback`)).toEqual(KAKAO_SIMULATOR_DEFAULTS.redirectUris);
  });
});

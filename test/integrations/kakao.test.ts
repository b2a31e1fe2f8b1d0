import { randomInt } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { followRedirects } from '../../src/integrations/social/google-simulator';
import { createKakaoProvider, fetchKakaoUser, type KakaoOptions } from '../../src/integrations/social/kakao-client';
import { startKakaoSimulator, type KakaoSimulator, type KakaoSimulatorOptions } from '../../src/integrations/social/kakao-simulator';
import { createLoginAttempt, pkceChallenge, SocialLoginError, type CodeExchange, type SocialProvider } from '../../src/integrations/social/social-provider';

const REDIRECT_URI = 'http://127.0.0.1:9/v1/auth/social/kakao/callback';
const OTHER_REDIRECT_URI = 'http://127.0.0.1:9/v1/auth/social/kakao/other-callback';

describe('Kakao Login (REST API), over HTTP to the Kakao simulator', () => {
  const simulators: KakaoSimulator[] = [];
  afterEach(async () => {
    await Promise.all(simulators.splice(0).map((s) => s.stop()));
  });
  const start = async (options: KakaoSimulatorOptions = {}) => {
    const sim = await startKakaoSimulator({ port: 0, redirectUris: [REDIRECT_URI, OTHER_REDIRECT_URI], ...options });
    simulators.push(sim);
    return sim;
  };
  const kakaoOn = (sim: KakaoSimulator, overrides: Partial<KakaoOptions> = {}) =>
    createKakaoProvider({ authBaseUrl: sim.url, apiBaseUrl: sim.url, clientId: sim.clientId, clientSecret: sim.clientSecret, timeoutMs: 5_000, ...overrides });
  const failureOf = (promise: Promise<unknown>) => promise.then(() => undefined, (err: unknown) => err);
  const uniqueUser = () => {
    const id = randomInt(1_000_000_000, 2 ** 47);
    return { id, email: `k${id}@kakao.test`, emailValid: true, emailVerified: true, nickname: '라이언' };
  };

  async function login(kakao: SocialProvider) {
    const attempt = createLoginAttempt();
    const url = await kakao.authorizationUrl({ state: attempt.state, nonce: attempt.nonce, codeChallenge: attempt.codeChallenge, redirectUri: REDIRECT_URI });
    const { params } = await followRedirects(url, REDIRECT_URI);
    const exchange = (overrides: Partial<CodeExchange> = {}) =>
      kakao.exchangeCode({ callback: params, expectedState: attempt.state, nonce: attempt.nonce, codeVerifier: attempt.codeVerifier, redirectUri: REDIRECT_URI, ...overrides });
    return { attempt, url: new URL(url), params, exchange };
  }
  const calls = (sim: KakaoSimulator) => sim.requests().map((r) => `${r.method} ${r.path} ${r.status}`);

  it('when the person signs in, then the code is redeemed and /v2/user/me gives the member number, email and nickname', async () => {
    const sim = await start();
    const user = uniqueUser();
    sim.setNextUser(user);

    const { exchange } = await login(kakaoOn(sim));
    const identity = await exchange();

    expect(identity).toEqual({ provider: 'kakao', subject: String(user.id), email: user.email, emailVerified: true, name: '라이언' });
    expect(calls(sim)).toEqual(['GET /oauth/authorize 302', 'POST /oauth/token 200', 'GET /v2/user/me 200']);
  });

  it('when a login starts, then the authorize URL is Kakao\'s: client_id, redirect_uri, response_type=code, state and an S256 challenge', async () => {
    const sim = await start();
    const attempt = createLoginAttempt();

    const url = new URL(await kakaoOn(sim).authorizationUrl({ state: attempt.state, nonce: attempt.nonce, codeChallenge: attempt.codeChallenge, redirectUri: REDIRECT_URI }));

    expect(`${url.origin}${url.pathname}`).toBe(`${sim.url}/oauth/authorize`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: sim.clientId,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      state: attempt.state,
      code_challenge: pkceChallenge(attempt.codeVerifier),
      code_challenge_method: 'S256',
    });
  });

  it('when Kakao does not vouch for the email (invalid or unverified) or it was not shared, then emailVerified is false', async () => {
    const sim = await start();
    const kakao = kakaoOn(sim);
    const invalid = { ...uniqueUser(), emailValid: false };
    const unverified = { ...uniqueUser(), emailVerified: false };
    const { id } = uniqueUser();

    sim.setNextUser(invalid);
    const first = await (await login(kakao)).exchange();
    sim.setNextUser(unverified);
    const second = await (await login(kakao)).exchange();
    sim.setNextUser({ id });
    const third = await (await login(kakao)).exchange();

    expect(first).toMatchObject({ subject: String(invalid.id), email: invalid.email, emailVerified: false });
    expect(second).toMatchObject({ subject: String(unverified.id), email: unverified.email, emailVerified: false });
    expect(third).toEqual({ provider: 'kakao', subject: String(id), emailVerified: false });
  });

  it('when the code is redeemed with another PKCE verifier, then Kakao refuses it: invalid_grant KOE320, and no user info is asked', async () => {
    const sim = await start();
    const { exchange } = await login(kakaoOn(sim));

    const failure = await failureOf(exchange({ codeVerifier: createLoginAttempt().codeVerifier }));

    expect(failure).toBeInstanceOf(SocialLoginError);
    expect(failure).toMatchObject({ code: 'invalid_grant', provider: 'kakao', retryable: false, status: 400, providerCode: 'KOE320' });
    expect(calls(sim)).toEqual(['GET /oauth/authorize 302', 'POST /oauth/token 400']);
  });

  it('when a code is redeemed twice, then the second time is refused as invalid_grant', async () => {
    const sim = await start();
    const { exchange } = await login(kakaoOn(sim));

    await exchange();
    const replay = await failureOf(exchange());

    expect(replay).toMatchObject({ code: 'invalid_grant', retryable: false, status: 400, providerCode: 'KOE320' });
    expect((replay as Error).message).toContain('authorization code not found');
  });

  it('when the token request names another redirect URI than the authorization did, then it is refused (KOE303)', async () => {
    const sim = await start();
    const { exchange } = await login(kakaoOn(sim));

    const failure = await failureOf(exchange({ redirectUri: OTHER_REDIRECT_URI }));

    expect(failure).toMatchObject({ code: 'invalid_grant', status: 400, providerCode: 'KOE303' });
  });

  it('when the client secret is wrong, then the error is invalid_client (KOE010), not retryable', async () => {
    const sim = await start();
    const { exchange } = await login(kakaoOn(sim, { clientSecret: 'not-the-secret' }));

    const failure = await failureOf(exchange());

    expect(failure).toMatchObject({ code: 'invalid_client', retryable: false, status: 401, providerCode: 'KOE010' });
  });

  it('when the callback state is not the stored one, then nothing is redeemed: state_mismatch and no token request', async () => {
    const sim = await start();
    const { exchange } = await login(kakaoOn(sim));

    const failure = await failureOf(exchange({ expectedState: createLoginAttempt().state }));

    expect(failure).toMatchObject({ code: 'state_mismatch', retryable: false });
    expect(calls(sim)).toEqual(['GET /oauth/authorize 302']);
  });

  it('when the person cancels on Kakao\'s consent screen, then the callback error becomes access_denied', async () => {
    const sim = await start();
    sim.denyNext();
    const { params, exchange } = await login(kakaoOn(sim));

    const failure = await failureOf(exchange());

    expect(params.get('error')).toBe('access_denied');
    expect(failure).toMatchObject({ code: 'access_denied', retryable: false });
    expect(calls(sim)).toEqual(['GET /oauth/authorize 302']);
  });

  it('when the token endpoint answers 503 or user info 500, then the error is provider_unavailable and retryable', async () => {
    const sim = await start();
    const kakao = kakaoOn(sim);
    const first = await login(kakao);
    const second = await login(kakao);

    sim.failNext(1, 503, 'token');
    const tokenDown = await failureOf(first.exchange());
    sim.failNext(1, 500, 'user');
    const userInfoDown = await failureOf(second.exchange());

    expect(tokenDown).toMatchObject({ code: 'provider_unavailable', retryable: true, status: 503, providerCode: 'KOE003' });
    expect(userInfoDown).toMatchObject({ code: 'provider_unavailable', retryable: true, status: 500, providerCode: '-1' });
  });

  it('when Kakao cannot be reached, then the error is provider_unavailable and retryable', async () => {
    const sim = await start();
    const { exchange } = await login(kakaoOn(sim));
    await sim.stop();

    const failure = await failureOf(exchange());

    expect(failure).toMatchObject({ code: 'provider_unavailable', retryable: true });
    expect((failure as Error).message).toMatch(/^Kakao token: could not reach Kakao/);
  });

  it('when user info refuses the access token (-401), then the error is invalid_token, not retryable', async () => {
    const sim = await start();
    const { exchange } = await login(kakaoOn(sim));
    sim.failNext(1, 401, 'user');

    const duringLogin = await failureOf(exchange());
    const madeUp = await failureOf(fetchKakaoUser({ apiBaseUrl: sim.url }, 'not-a-token-kakao-issued'));

    expect(duringLogin).toMatchObject({ code: 'invalid_token', retryable: false, status: 401, providerCode: '-401' });
    expect(madeUp).toMatchObject({ code: 'invalid_token', retryable: false, status: 401, providerCode: '-401' });
    expect((madeUp as Error).message).toBe('Kakao user info answered 401: this access token does not exist - -401');
  });

  it('when the simulator is called directly, then it answers in Kakao\'s shapes: an error page for an unregistered redirect URI, kauth and kapi error bodies', async () => {
    const sim = await start();

    const unregistered = await fetch(`${sim.url}/oauth/authorize?client_id=${sim.clientId}&redirect_uri=${encodeURIComponent('https://evil.test/cb')}&response_type=code`, { redirect: 'manual' });
    const noSecret = await fetch(`${sim.url}/oauth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded;charset=utf-8' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: sim.clientId, redirect_uri: REDIRECT_URI, code: 'x' }).toString(),
    });
    const noToken = await fetch(`${sim.url}/v2/user/me`);

    expect(unregistered.status).toBe(400);
    expect(unregistered.headers.get('location')).toBeNull();
    expect(await unregistered.text()).toContain('KOE006');
    expect(noSecret.status).toBe(401);
    expect(await noSecret.json()).toEqual({ error: 'invalid_client', error_description: 'Bad client credentials', error_code: 'KOE010' });
    expect(noToken.status).toBe(401);
    expect(await noToken.json()).toEqual({ msg: 'no authentication key!', code: -401 });
  });
});

import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createGoogleProvider } from '../../src/integrations/social/google-client';
import { followRedirects, startGoogleSimulator, type GoogleSimulator, type GoogleSimulatorOptions } from '../../src/integrations/social/google-simulator';
import { createLoginAttempt, pkceChallenge, SocialLoginError, type CodeExchange, type SocialProvider } from '../../src/integrations/social/social-provider';

// Never contacted: the walk stops at the redirect that points here, as a browser would hand over to our API.
const REDIRECT_URI = 'http://127.0.0.1:9/v1/auth/social/google/callback';

describe('Google sign-in (OpenID Connect), over HTTP to a real OpenID Provider on loopback', () => {
  const simulators: GoogleSimulator[] = [];
  afterEach(async () => {
    await Promise.all(simulators.splice(0).map((s) => s.stop()));
  });
  const start = async (options: GoogleSimulatorOptions = {}) => {
    const sim = await startGoogleSimulator({ port: 0, redirectUris: [REDIRECT_URI], ...options });
    simulators.push(sim);
    return sim;
  };
  const googleOn = (sim: GoogleSimulator, overrides: { clientSecret?: string } = {}) =>
    createGoogleProvider({ issuer: sim.url, clientId: sim.clientId, clientSecret: overrides.clientSecret ?? sim.clientSecret, timeoutMs: 5_000 });
  const failureOf = (promise: Promise<unknown>) => promise.then(() => undefined, (err: unknown) => err);
  const uniqueUser = () => {
    const id = randomUUID();
    return { subject: `sub-${id}`, email: `${id}@gmail.test`, emailVerified: true, name: '홍길동' };
  };

  /** Starts a login, plays the browser through the provider and returns what the callback would see. */
  async function login(google: SocialProvider) {
    const attempt = createLoginAttempt();
    const url = await google.authorizationUrl({ state: attempt.state, nonce: attempt.nonce, codeChallenge: attempt.codeChallenge, redirectUri: REDIRECT_URI });
    const { params } = await followRedirects(url, REDIRECT_URI);
    const exchange = (overrides: Partial<CodeExchange> = {}) =>
      google.exchangeCode({ callback: params, expectedState: attempt.state, nonce: attempt.nonce, codeVerifier: attempt.codeVerifier, redirectUri: REDIRECT_URI, ...overrides });
    return { attempt, url: new URL(url), params, exchange };
  }

  it('when the person signs in, then the identity comes from the verified ID token: subject, email, email_verified and name', async () => {
    const sim = await start();
    const user = uniqueUser();
    sim.setNextUser(user);

    const { exchange } = await login(googleOn(sim));
    const identity = await exchange();

    expect(identity).toEqual({ provider: 'google', subject: user.subject, email: user.email, emailVerified: true, name: '홍길동' });
    // The ID token's signature was checked against the published keys, not taken on trust.
    expect(sim.requests().filter((r) => r.path === '/jwks')).toEqual([{ method: 'GET', path: '/jwks', status: 200 }]);
  });

  it('when a login starts, then the authorization URL asks for openid email profile with state, nonce and an S256 challenge', async () => {
    const sim = await start();
    const attempt = createLoginAttempt();

    const url = new URL(await googleOn(sim).authorizationUrl({ state: attempt.state, nonce: attempt.nonce, codeChallenge: attempt.codeChallenge, redirectUri: REDIRECT_URI }));

    expect(`${url.origin}${url.pathname}`).toBe(`${sim.url}/auth`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: sim.clientId,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: 'openid email profile',
      state: attempt.state,
      nonce: attempt.nonce,
      code_challenge: pkceChallenge(attempt.codeVerifier),
      code_challenge_method: 'S256',
    });
  });

  it('when the email is not verified or not shared, then emailVerified is false', async () => {
    const sim = await start();
    const google = googleOn(sim);
    const unverified = { ...uniqueUser(), emailVerified: false };
    const { subject } = uniqueUser();

    sim.setNextUser(unverified);
    const first = await (await login(google)).exchange();
    sim.setNextUser({ subject });
    const second = await (await login(google)).exchange();

    expect(first).toEqual({ provider: 'google', subject: unverified.subject, email: unverified.email, emailVerified: false, name: '홍길동' });
    expect(second).toEqual({ provider: 'google', subject, emailVerified: false });
  });

  it('when the code is redeemed with another PKCE verifier, then Google refuses it: invalid_grant, not retryable', async () => {
    const sim = await start();
    const { exchange } = await login(googleOn(sim));

    const failure = await failureOf(exchange({ codeVerifier: createLoginAttempt().codeVerifier }));

    expect(failure).toBeInstanceOf(SocialLoginError);
    expect(failure).toMatchObject({ code: 'invalid_grant', provider: 'google', retryable: false, status: 400, providerCode: 'invalid_grant' });
  });

  it('when the ID token carries another nonce than the one stored with the login, then it is refused as nonce_mismatch', async () => {
    const sim = await start();
    const { exchange } = await login(googleOn(sim));

    const failure = await failureOf(exchange({ nonce: createLoginAttempt().nonce }));

    expect(failure).toMatchObject({ name: 'SocialLoginError', code: 'nonce_mismatch', retryable: false });
  });

  it('when the callback state is not the stored one, then nothing is redeemed: state_mismatch and no token request', async () => {
    const sim = await start();
    const { exchange } = await login(googleOn(sim));

    const failure = await failureOf(exchange({ expectedState: createLoginAttempt().state }));

    expect(failure).toMatchObject({ code: 'state_mismatch', retryable: false });
    expect(sim.requests().filter((r) => r.path === '/token')).toEqual([]);
  });

  it('when a code is redeemed twice, then the second time is refused as invalid_grant', async () => {
    const sim = await start();
    const { exchange } = await login(googleOn(sim));

    await exchange();
    const replay = await failureOf(exchange());

    expect(replay).toMatchObject({ code: 'invalid_grant', retryable: false, status: 400 });
  });

  it('when the client secret is wrong, then the error says invalid_client (configuration), not retryable', async () => {
    const sim = await start();
    const { exchange } = await login(googleOn(sim, { clientSecret: 'not-the-secret' }));

    const failure = await failureOf(exchange());

    expect(failure).toMatchObject({ code: 'invalid_client', retryable: false, status: 401 });
  });

  it('when the published key under the token\'s kid did not sign the ID token, then the token is refused as invalid_response', async () => {
    const sim = await start();
    const user = uniqueUser();
    sim.setNextUser(user);
    sim.publishForeignKeys();
    const { exchange } = await login(googleOn(sim));

    const failure = await failureOf(exchange());

    expect(failure).toMatchObject({ code: 'invalid_response', retryable: false });
    expect((failure as Error).message).toContain('JWT signature verification failed');
  });

  it('when the person declines at Google, then the callback error becomes access_denied without a token request', async () => {
    const sim = await start();
    sim.denyNext();
    const { params, exchange } = await login(googleOn(sim));

    const failure = await failureOf(exchange());

    expect(params.get('error')).toBe('access_denied');
    expect(failure).toMatchObject({ code: 'access_denied', retryable: false, providerCode: 'access_denied' });
    expect(sim.requests().filter((r) => r.path === '/token')).toEqual([]);
  });

  it('when the token endpoint answers 503, then the error is provider_unavailable and retryable', async () => {
    const sim = await start();
    const { exchange } = await login(googleOn(sim));
    sim.failNext(1, 503);

    const failure = await failureOf(exchange());

    expect(failure).toMatchObject({ code: 'provider_unavailable', retryable: true, status: 503 });
  });

  it('when Google is down at the first login, then it is provider_unavailable, and the next login after it is back succeeds', async () => {
    const first = await start();
    const { port } = new URL(first.url);
    await first.stop();
    const google = googleOn(first);

    const failure = await failureOf(google.authorizationUrl({ ...createLoginAttempt(), redirectUri: REDIRECT_URI }));
    const again = await start({ port: Number(port) });
    const user = uniqueUser();
    again.setNextUser(user);
    const identity = await (await login(google)).exchange();

    expect(failure).toMatchObject({ code: 'provider_unavailable', retryable: true });
    expect((failure as Error).message).toMatch(/^Google discovery: could not reach Google/);
    expect(identity.subject).toBe(user.subject);
  });

  it('when Google goes down between the redirect and the code exchange, then the exchange is provider_unavailable', async () => {
    const sim = await start();
    const { exchange } = await login(googleOn(sim));
    await sim.stop();

    const failure = await failureOf(exchange());

    expect(failure).toMatchObject({ code: 'provider_unavailable', retryable: true });
  });

  it('when the issuer is plain http on a public host, then the client refuses to be built', () => {
    expect(() => createGoogleProvider({ issuer: 'http://accounts.google.com', clientId: 'x', clientSecret: 'y' })).toThrow(/must be https/);
  });
});

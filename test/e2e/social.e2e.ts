import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { api, assertConforms, E2E, expectProblem, outcome } from './support';
import { hasSandbox, PASSWORD, signUp, walk } from './identity';

interface Spec {
  paths: Record<string, { get: { responses: Record<string, unknown> } }>;
  components: { headers: Record<string, { schema: { pattern?: string } }> };
}
const spec = JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'generated', 'openapi.public.json'), 'utf8')) as Spec;

/** The client's own PKCE pair: the challenge goes to start, the verifier to the callback. */
const clientSecret = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

/** What the callback page hands the API from the provider's redirect. */
const callbackOf = (params: Record<string, string>) => ({ state: params.state!, code: params.code!, ...(params.iss ? { iss: params.iss } : {}) });

async function start(provider: 'google' | 'kakao') {
  const client = clientSecret();
  const path = provider === 'google' ? '/auth/google' : '/auth/kakao';
  const res = await api().GET(path, { params: { query: { client_challenge: client.challenge, mode: 'json' } } });
  expect(res.response.status).toBe(200);
  expect(res.data).toMatchObject({ object: 'social_login_start', provider });
  return { client, authorizationUrl: res.data!.authorization_url };
}

describe.runIf(hasSandbox)('social sign-in (Google, Kakao)', () => {
  it("when a browser starts a Google or Kakao sign-in, then it is a 302 to the provider with the API's state and S256 challenge, every header the spec declares, and nothing cacheable", async () => {
    for (const provider of ['google', 'kakao'] as const) {
      // Straight to the API: Prism follows redirects upstream, so the 302 is checked here against the spec's declaration.
      const url = `${E2E.directBaseUrl}/auth/${provider}?${new URLSearchParams({ client_challenge: clientSecret().challenge })}`;
      const res = await fetch(url, { redirect: 'manual', headers: { 'x-forwarded-for': '10.9.8.7' } });
      await res.text();
      expect(res.status).toBe(302);
      assertConforms('GET', url, res.status, res.headers, { v1: true });
      const declared = (spec.paths[`/auth/${provider}`]!.get.responses['302'] as { headers: Record<string, { $ref: string }> }).headers;
      for (const [name, { $ref }] of Object.entries(declared)) {
        const header = spec.components.headers[$ref.split('/').pop()!]!;
        // Sent only to an allowed Origin; this request has none.
        if (name === 'Access-Control-Allow-Origin') continue;
        const value = res.headers.get(name);
        expect(value, `${provider}: ${name}`).not.toBeNull();
        if (header.schema.pattern) expect(value, `${provider}: ${name}`).toMatch(new RegExp(header.schema.pattern));
      }
      expect(res.headers.get('cache-control')).toBe('no-store');
      const location = new URL(res.headers.get('location')!);
      expect(location.searchParams.get('code_challenge_method')).toBe('S256');
      expect(location.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
  });

  it('when a new Google person comes back from the provider, then an account is made and signed in; the next time the same account', async () => {
    const first = await start('google');
    const { params, user } = await walk('google', first.authorizationUrl);
    const callback = await api().POST('/auth/social/callback', { body: { provider: 'google', code: params.code!, state: params.state!, iss: params.iss, client_verifier: first.client.verifier } });
    expect(callback.response.status).toBe(200);
    if (callback.data?.object !== 'session_tokens') throw new Error(`expected a session, got ${callback.data?.object}`);
    const profile = await api({ token: callback.data.access_token }).GET('/users/profile');
    expect(profile.data).toMatchObject({ email: user.email, email_verified: true });

    expectProblem(
      outcome(await api().POST('/auth/social/callback', { body: { provider: 'google', code: params.code!, state: params.state!, iss: params.iss, client_verifier: first.client.verifier } })),
      422,
      'invalid_state',
    );

    const again = await start('google');
    const second = await walk('google', again.authorizationUrl, user);
    const back = await api().POST('/auth/social/callback', { body: { provider: 'google', ...callbackOf(second.params), client_verifier: again.client.verifier } });
    expect(back.data).toMatchObject({ object: 'session_tokens', user_id: callback.data.user_id });
  });

  it('when a Kakao person has the address of a password account, then the link must be confirmed with that password, and after it Kakao signs in there', async () => {
    const owner = await signUp('kakao');
    const first = await start('kakao');
    const kakaoUser = { id: 5_000_000_000 + Number.parseInt(randomBytes(5).toString('hex'), 16), email: owner.email, emailValid: true, emailVerified: true, nickname: '카카오' };
    const walked = await walk('kakao', first.authorizationUrl, kakaoUser);
    const callback = await api().POST('/auth/social/callback', { body: { provider: 'kakao', ...callbackOf(walked.params), client_verifier: first.client.verifier } });
    expect(callback.response.status).toBe(200);
    if (callback.data?.object !== 'social_link_required') throw new Error(`expected a link request, got ${callback.data?.object}`);
    expect(callback.data).toMatchObject({ provider: 'kakao', link_token: expect.stringMatching(/^sl_/) });

    expectProblem(outcome(await api().POST('/auth/social/link', { body: { link_token: callback.data.link_token, password: 'Wrong-pass-1' } })), 401, 'invalid_credentials');
    const linked = await api().POST('/auth/social/link', { body: { link_token: callback.data.link_token, password: PASSWORD } });
    expect(linked.data).toMatchObject({ object: 'session_tokens', user_id: owner.id });

    const again = await start('kakao');
    const second = await walk('kakao', again.authorizationUrl, kakaoUser);
    const back = await api().POST('/auth/social/callback', { body: { provider: 'kakao', ...callbackOf(second.params), client_verifier: again.client.verifier } });
    expect(back.data).toMatchObject({ object: 'session_tokens', user_id: owner.id });
  });

  it('when redirect_uri is not a configured callback page, then 400 and no redirect (never an open redirect)', async () => {
    const res = await api().GET('/auth/kakao', {
      params: { query: { client_challenge: clientSecret().challenge, redirect_uri: 'https://evil.example/auth/social/kakao/callback' } },
      redirect: 'manual',
    });
    expectProblem(outcome(res), 400, 'redirect_uri_not_allowed');
    expect(res.response.headers.get('location')).toBeNull();
  });
});

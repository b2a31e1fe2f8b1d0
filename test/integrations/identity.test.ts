import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { IdentityVerificationError, type StartedVerification } from '../../src/integrations/identity/identity-verifier';
import { createNiceIdentityVerifier, niceSymmetricKey, type NiceOptions } from '../../src/integrations/identity/nice-client';
import { completeVerification, startNiceSimulator, type NiceSimulator, type NiceSimulatorOptions, type SimulatedPerson } from '../../src/integrations/identity/nice-simulator';

const RETURN_URL = 'https://junggo.example/v1/identity-verifications/return';
let uniquePhone = 10_000_000 + Math.floor(Math.random() * 80_000_000);
const person = (overrides: Partial<SimulatedPerson> = {}): SimulatedPerson => ({
  name: '김민지',
  birthDate: '19950314',
  gender: 'female',
  mobileCarrier: 'KT',
  phone: `010${uniquePhone++}`,
  ...overrides,
});

describe('NICE identity verification client, over HTTP to the NICE simulator', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
  });
  const simulator = async (options: NiceSimulatorOptions = {}) => {
    const sim = await startNiceSimulator({ port: 0, ...options });
    closers.push(() => sim.stop());
    return sim;
  };
  const verifier = (sim: NiceSimulator, overrides: Partial<NiceOptions> = {}) =>
    createNiceIdentityVerifier({ baseUrl: sim.url, windowUrl: sim.url, clientId: sim.clientId, clientSecret: sim.clientSecret, productId: sim.productId, ...overrides });
  const failureOf = (promise: Promise<unknown>) => promise.then(() => undefined, (err: unknown) => err);

  it('when a person completes the verification, then result returns their identity with an 88-character CI and a per-site DI', async () => {
    const sim = await simulator();
    const nice = verifier(sim);
    const someone = person({ name: '박서준', birthDate: '19880707', gender: 'male', mobileCarrier: 'LGU+_MVNO' });

    const started = await nice.start({ returnUrl: RETURN_URL });
    const completed = await completeVerification(started.authUrl, someone);
    const identity = await nice.result(started.transactionId, { resumeSecret: started.resumeSecret, returned: completed.returned });

    expect(started.transactionId).toMatch(/^[0-9A-Z]{30}$/);
    expect(new URL(started.authUrl).pathname).toBe('/CheckPlusSafeModel/service.cb');
    expect(new URL(started.authUrl).searchParams.get('m')).toBe('service');
    expect(started.expiresAt.getTime() - Date.now()).toBeGreaterThan(9 * 60_000);
    expect(identity).toEqual({
      transactionId: started.transactionId,
      name: '박서준',
      birthDate: '1988-07-07',
      gender: 'male',
      nationality: 'domestic',
      phone: `+82${someone.phone.slice(1)}`,
      mobileCarrier: 'LGU+_MVNO',
      ci: sim.ciOf(someone),
      di: expect.stringMatching(/^[A-Za-z0-9+/]{64}$/),
      verifiedAt: expect.any(Date),
    });
    expect(identity.ci).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    expect(Math.abs(identity.verifiedAt.getTime() - Date.now())).toBeLessThan(5_000);
    expect(new URL(completed.redirectUrl).origin + new URL(completed.redirectUrl).pathname).toBe(RETURN_URL);
    expect(sim.requests().map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /digital/niceid/oauth/oauth/token 200',
      'POST /digital/niceid/api/v1.0/common/crypto/token 200',
      'POST /CheckPlusSafeModel/simulator/complete 200',
    ]);
  });

  it('when the same person verifies twice, then CI and DI are the same; another phone is another CI; another site sees the same CI and another DI', async () => {
    const sim = await simulator();
    const otherSite = await simulator({ siteCode: 'OTHERSITE' });
    const someone = person({ nationality: 'foreign' });
    const verify = async (s: NiceSimulator, who: SimulatedPerson) => {
      const nice = verifier(s);
      const started = await nice.start({ returnUrl: RETURN_URL });
      return nice.result(started.transactionId, { resumeSecret: started.resumeSecret, returned: (await completeVerification(started.authUrl, who)).returned });
    };

    const [first, second, elsewhere, otherPhone] = [await verify(sim, someone), await verify(sim, someone), await verify(otherSite, someone), await verify(sim, person())];

    expect(first.nationality).toBe('foreign');
    expect(second.ci).toBe(first.ci);
    expect(second.di).toBe(first.di);
    expect(elsewhere.ci).toBe(first.ci);
    expect(elsewhere.di).not.toBe(first.di);
    expect(otherPhone.ci).not.toBe(first.ci);
  });

  it('when the browser goes through the window (GET authUrl, submit the form), then it is redirected to the return URL with what result needs', async () => {
    const sim = await simulator();
    const nice = verifier(sim);
    const received: URLSearchParams[] = [];
    const app: Server = createServer((req, res) => {
      received.push(new URL(req.url ?? '/', 'http://app').searchParams);
      res.end('ok');
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => app.close(() => resolve())));
    const returnUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}/identity/return`;

    const started = await nice.start({ returnUrl });
    const page = await fetch(started.authUrl);
    const html = await page.text();
    const form = new URLSearchParams({
      ...Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!.replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c)))])),
      name: '이서연',
      birthdate: '20000229',
      gender: '0',
      nationalinfo: '0',
      mobileco: '1',
      mobileno: '010-2345-6789',
    });
    const back = await fetch(`${sim.url}/CheckPlusSafeModel/simulator/complete`, { method: 'POST', body: form, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    const identity = await nice.result(started.transactionId, { resumeSecret: started.resumeSecret, returned: Object.fromEntries(received[0]!) });

    expect(page.status).toBe(200);
    expect(html).toContain('<form method="post" action="/CheckPlusSafeModel/simulator/complete">');
    expect(back.status).toBe(200);
    expect(back.url.startsWith(returnUrl)).toBe(true);
    expect(identity).toMatchObject({ name: '이서연', birthDate: '2000-02-29', gender: 'female', mobileCarrier: 'SKT', phone: '+821023456789' });
  });

  it('when a verification is completed, then completing it again or reopening its window is refused', async () => {
    const sim = await simulator();
    const started = await verifier(sim).start({ returnUrl: RETURN_URL });
    await completeVerification(started.authUrl, person());

    const again = await failureOf(completeVerification(started.authUrl, person()));
    const reopened = await fetch(started.authUrl);

    expect((again as Error).message).toMatch(/^nice simulator refused the completion \(409 already_completed\)/);
    expect(reopened.status).toBe(409);
  });

  it('when the verification outlives its period, then the window refuses to complete it and result says expired', async () => {
    const sim = await simulator({ transactionTtlMs: 300 });
    const nice = verifier(sim);
    const late = await nice.start({ returnUrl: RETURN_URL });
    const slowReader = await nice.start({ returnUrl: RETURN_URL });
    const completed = await completeVerification(slowReader.authUrl, person());
    await new Promise((resolve) => setTimeout(resolve, 400));

    const windowFailure = await failureOf(completeVerification(late.authUrl, person()));
    const resultFailure = await failureOf(nice.result(slowReader.transactionId, { resumeSecret: slowReader.resumeSecret, returned: completed.returned }));

    expect((windowFailure as Error).message).toMatch(/\(410 expired\)/);
    expect(resultFailure).toBeInstanceOf(IdentityVerificationError);
    expect(resultFailure).toMatchObject({ code: 'expired', retryable: true });
  });

  describe('when what comes back is not a valid result for this transaction', () => {
    let sim: NiceSimulator;
    let started: StartedVerification;
    let returned: { token_version_id: string; enc_data: string; integrity_value: string };
    const prepare = async () => {
      sim = await simulator();
      started = await verifier(sim).start({ returnUrl: RETURN_URL });
      returned = (await completeVerification(started.authUrl, person())).returned;
    };

    it('then a tampered enc_data or integrity_value is invalid_response, not retryable', async () => {
      await prepare();
      const nice = verifier(sim);
      const flipped = Buffer.from(returned.enc_data, 'base64');
      flipped[5] = flipped[5]! ^ 0x01;

      const failures = [
        await failureOf(nice.result(started.transactionId, { resumeSecret: started.resumeSecret, returned: { ...returned, enc_data: flipped.toString('base64') } })),
        await failureOf(nice.result(started.transactionId, { resumeSecret: started.resumeSecret, returned: { ...returned, integrity_value: Buffer.alloc(32).toString('base64') } })),
      ];

      for (const failure of failures) expect(failure).toMatchObject({ name: 'IdentityVerificationError', code: 'invalid_response', retryable: false });
    });

    it('then a callback without enc_data (window closed) is not_completed, retryable', async () => {
      await prepare();

      const failure = await failureOf(verifier(sim).result(started.transactionId, { resumeSecret: started.resumeSecret, returned: {} }));

      expect(failure).toMatchObject({ code: 'not_completed', retryable: true });
    });

    it("then another verification's result, or this result under another transaction id, is not_found", async () => {
      await prepare();
      const nice = verifier(sim);
      const other = await nice.start({ returnUrl: RETURN_URL });
      const otherReturned = (await completeVerification(other.authUrl, person())).returned;

      const failures = [
        await failureOf(nice.result(started.transactionId, { resumeSecret: started.resumeSecret, returned: otherReturned })),
        await failureOf(nice.result(other.transactionId, { resumeSecret: started.resumeSecret, returned })),
        await failureOf(nice.result(started.transactionId, { resumeSecret: 'not-a-secret', returned })),
      ];

      for (const failure of failures) expect(failure).toMatchObject({ code: 'not_found', retryable: false });
    });
  });

  it('when several verifications start, then the institution token is fetched once; when NICE revokes it, the next start fetches a new one', async () => {
    const sim = await simulator();
    const nice = verifier(sim);

    await nice.start({ returnUrl: RETURN_URL });
    await nice.start({ returnUrl: RETURN_URL });
    sim.revokeAccessTokens();
    const afterRevoke = await nice.start({ returnUrl: RETURN_URL });

    expect(afterRevoke.transactionId).toHaveLength(30);
    const calls = sim.requests().map((r) => `${r.path.includes('/crypto/') ? 'crypto' : 'oauth'} ${r.status}`);
    expect(calls).toEqual(['oauth 200', 'crypto 200', 'crypto 200', 'crypto 401', 'oauth 200', 'crypto 200']);
  });

  it('when the client secret or the product id is wrong, then start throws unauthorized, not retryable', async () => {
    const sim = await simulator();

    const wrongSecret = await failureOf(verifier(sim, { clientSecret: 'not-the-secret' }).start({ returnUrl: RETURN_URL }));
    const wrongProduct = await failureOf(verifier(sim, { productId: '9999999999' }).start({ returnUrl: RETURN_URL }));

    expect(wrongSecret).toMatchObject({ code: 'unauthorized', retryable: false, status: 401, providerCode: '1401' });
    expect(wrongProduct).toMatchObject({ code: 'unauthorized', retryable: false, status: 403, providerCode: '1403' });
  });

  it('when NICE fails with 500 or 429, or cannot be reached, then start throws provider_unavailable, retryable', async () => {
    const sim = await simulator();
    const nice = verifier(sim);

    sim.failNext(1, 500);
    const serverError = await failureOf(nice.start({ returnUrl: RETURN_URL }));
    sim.failNext(1, 429);
    const throttled = await failureOf(nice.start({ returnUrl: RETURN_URL }));
    const recovered = await nice.start({ returnUrl: RETURN_URL });
    await sim.stop();
    const unreachable = await failureOf(nice.start({ returnUrl: RETURN_URL }));

    expect(serverError).toMatchObject({ code: 'provider_unavailable', retryable: true, status: 500 });
    expect(throttled).toMatchObject({ code: 'provider_unavailable', retryable: true, status: 429 });
    expect(recovered.authUrl).toContain('token_version_id=');
    expect(unreachable).toMatchObject({ code: 'provider_unavailable', retryable: true });
  });

  it('when the window is opened with an altered request, then it refuses before showing the form', async () => {
    const sim = await simulator();
    const started = await verifier(sim).start({ returnUrl: RETURN_URL });
    const url = new URL(started.authUrl);
    url.searchParams.set('integrity_value', Buffer.alloc(32).toString('base64'));

    const response = await fetch(url);

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'integrity_mismatch', message: 'integrity_value does not match enc_data.' });
  });

  it('when the crypto token request has no valid bearer, then the gateway answers 401 in its dataHeader form', async () => {
    const sim = await simulator();

    const response = await fetch(`${sim.url}/digital/niceid/api/v1.0/common/crypto/token`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });

    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ dataHeader: { GW_RSLT_CD: '1401', GW_RSLT_MSG: 'Unauthorized: invalid access token' } });
  });
});

describe('niceSymmetricKey', () => {
  it('when deriving, then it matches the documented recipe (SHA-256, Base64, 16/16/32 characters) as computed by openssl', () => {
    // printf '%s' '20210622162600111111111122222222223333333333R0lGODlhAQABAIAAAAAAAP' \
    //   | openssl dgst -sha256 -binary | openssl enc -base64   ->  Gh+HKSAbXzslsc+AdSt4WavP30+uXnQoTAOehn+1wys=
    const { key, iv, hmacKey } = niceSymmetricKey('20210622162600', '111111111122222222223333333333', 'R0lGODlhAQABAIAAAAAAAP');

    expect(key.toString('latin1')).toBe('Gh+HKSAbXzslsc+A');
    expect(iv.toString('latin1')).toBe('XnQoTAOehn+1wys=');
    expect(hmacKey.toString('latin1')).toBe('Gh+HKSAbXzslsc+AdSt4WavP30+uXnQo');
  });
});

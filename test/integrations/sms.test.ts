import { afterEach, describe, expect, it } from 'vitest';
import { createSensSmsSender, sensSignature, type SensOptions } from '../../src/integrations/sms/sens-client';
import { SmsSendError } from '../../src/integrations/sms/sms-sender';
import { startSmsSimulator, type SmsSimulator } from '../../src/integrations/sms/sms-simulator';

const FROM = '0212345678';

describe('SENS SMS client, over HTTP to the SENS simulator', () => {
  let sim: SmsSimulator;
  afterEach(async () => {
    await sim.stop();
  });
  const start = async () => (sim = await startSmsSimulator({ port: 0 }));
  const sender = (overrides: Partial<SensOptions> = {}) =>
    createSensSmsSender({ baseUrl: sim.url, accessKey: sim.accessKey, secretKey: sim.secretKey, serviceId: sim.serviceId, from: FROM, ...overrides });
  const failureOf = (promise: Promise<unknown>) => promise.then(() => undefined, (err: unknown) => err);

  it('when an SMS is sent, then SENS receives its documented body: national number, country code 82, sender, type and Korean text', async () => {
    await start();

    const sent = await sender().send({ to: '+821012345678', text: '[중고] 인증번호는 123456 입니다.' });

    expect(sim.messages()).toEqual([
      { requestId: sent.providerRequestId, type: 'SMS', contentType: 'COMM', countryCode: '82', from: FROM, to: '01012345678', content: '[중고] 인증번호는 123456 입니다.' },
    ]);
    expect(sent.type).toBe('SMS');
    expect(sim.requests()).toEqual([{ method: 'POST', path: `/sms/v2/services/${sim.serviceId}/messages`, status: 202 }]);
  });

  it('when the text is over 90 EUC-KR bytes, then it goes as LMS', async () => {
    await start();
    const text = '가'.repeat(46); // 92 bytes

    const sent = await sender().send({ to: '+821098765432', text });

    expect(sent.type).toBe('LMS');
    expect((await sim.waitFor((m) => m.requestId === sent.providerRequestId)).type).toBe('LMS');
  });

  it('when the access key or the secret key is wrong, then SENS answers 401 and the client throws unauthorized, not retryable', async () => {
    await start();

    const wrongKey = await failureOf(sender({ accessKey: 'someone-elses-key' }).send({ to: '+821012345678', text: 'x' }));
    const wrongSecret = await failureOf(sender({ secretKey: 'not-the-secret' }).send({ to: '+821012345678', text: 'x' }));

    for (const failure of [wrongKey, wrongSecret]) {
      expect(failure).toBeInstanceOf(SmsSendError);
      expect(failure).toMatchObject({ code: 'unauthorized', retryable: false, status: 401, providerCode: '200' });
      expect((failure as Error).message).toBe('SENS answered 401: Authentication Failed - Invalid authentication information.');
    }
    expect(sim.requests().map((r) => r.status)).toEqual([401, 401]);
    expect(sim.messages()).toEqual([]);
  });

  it('when the clock is more than five minutes off, then SENS refuses the signature as it would a wrong key', async () => {
    await start();

    const failure = await failureOf(sender({ now: () => Date.now() - 6 * 60_000 }).send({ to: '+821012345678', text: 'x' }));

    expect(failure).toMatchObject({ code: 'unauthorized', status: 401 });
    expect(sim.messages()).toEqual([]);
  });

  it('when the service id is not the project\'s, then the client throws not_found, not retryable', async () => {
    await start();

    const failure = await failureOf(sender({ serviceId: 'ncp:sms:kr:999999999999:other' }).send({ to: '+821012345678', text: 'x' }));

    expect(failure).toMatchObject({ code: 'not_found', retryable: false, status: 404 });
  });

  it('when SENS fails with 500 or throttles with 429, then the errors are retryable and name the cause', async () => {
    await start();
    sim.failNext(1, 500);
    const serverError = await failureOf(sender().send({ to: '+821012345678', text: 'x' }));
    sim.failNext(1, 429);
    const throttled = await failureOf(sender().send({ to: '+821012345678', text: 'x' }));

    expect(serverError).toMatchObject({ code: 'provider_unavailable', retryable: true, status: 500 });
    expect(throttled).toMatchObject({ code: 'rate_limited', retryable: true, status: 429, providerCode: '410' });
    expect(sim.messages()).toEqual([]);
  });

  it('when the number is not Korean E.164 or the text cannot go by SMS, then the client refuses without calling SENS', async () => {
    await start();
    const s = sender();

    const failures = await Promise.all([
      failureOf(s.send({ to: '01012345678', text: 'x' })),
      failureOf(s.send({ to: '+14155550100', text: 'x' })),
      failureOf(s.send({ to: '+821012345678', text: '이모지 🙂' })),
      failureOf(s.send({ to: '+821012345678', text: '가'.repeat(1001) })),
    ]);

    for (const failure of failures) expect(failure).toMatchObject({ name: 'SmsSendError', code: 'invalid_request', retryable: false });
    expect(sim.requests()).toEqual([]);
  });

  it('when SENS cannot be reached, then the client throws a retryable network error', async () => {
    await start();
    const url = sim.url;
    await sim.stop();

    const failure = await failureOf(sender({ baseUrl: url }).send({ to: '+821012345678', text: 'x' }));

    expect(failure).toMatchObject({ code: 'network', retryable: true });
  });

  it('when the job\'s signal is already aborted (timeout, shutdown), then nothing is sent and the error says aborted', async () => {
    await start();

    const failure = await failureOf(sender().send({ to: '+821012345678', text: 'x' }, { signal: AbortSignal.abort() }));

    expect(failure).toMatchObject({ code: 'aborted', retryable: true });
    expect(sim.messages()).toEqual([]);
  });

  it('when a request carries no signature headers, then the simulator answers as the API Gateway does', async () => {
    await start();

    const response = await fetch(`${sim.url}/sms/v2/services/${sim.serviceId}/messages`, { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });

    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: { errorCode: '200', message: 'Authentication Failed', details: 'Invalid authentication information.' } });
  });
});

describe('sensSignature', () => {
  it('when signing, then it matches the documented recipe (HMAC-SHA256, Base64) as computed by openssl', () => {
    // printf 'POST /sms/v2/services/ncp:sms:kr:123456789012:junggo/messages\n1700000000000\nAKIAEXAMPLEACCESSKEY' \
    //   | openssl dgst -sha256 -hmac example-secret-key -binary | openssl enc -base64
    expect(sensSignature('POST', '/sms/v2/services/ncp:sms:kr:123456789012:junggo/messages', '1700000000000', 'AKIAEXAMPLEACCESSKEY', 'example-secret-key')).toBe(
      '3gFuMV3OIk1TGGcOh/+e0kaX4lL9nHpfx1pCqZGYeDg=',
    );
  });
});

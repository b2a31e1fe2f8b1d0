import { createHmac } from 'node:crypto';
import { koreanNationalNumber, SmsSendError, type SentSms, type SmsMessage, type SmsSender, type SmsSendErrorCode } from './sms-sender';

/**
 * NAVER Cloud Platform SENS, SMS API v2 (https://api.ncloud-docs.com/docs/sens-sms-send):
 * POST {baseUrl}/sms/v2/services/{serviceId}/messages, signed per request with the account's
 * access key and secret key (API Gateway signature v2).
 */
export interface SensOptions {
  /** `https://sens.apigw.ntruss.com` in production; the simulator's URL locally. */
  baseUrl: string;
  accessKey: string;
  secretKey: string;
  /** The SMS project's service id, e.g. `ncp:sms:kr:123456789012:junggo`. */
  serviceId: string;
  /** The calling number registered in the SENS console, digits only. */
  from: string;
  timeoutMs?: number;
  /** For tests of the clock-skew check. */
  now?: () => number;
}

// The documented limits, in EUC-KR bytes: 90 for SMS, 2,000 for LMS. SENS truncates what is
// longer; we refuse instead, so a cut-off verification code never reaches a user.
const SMS_MAX_BYTES = 90;
const LMS_MAX_BYTES = 2_000;

/** The `x-ncp-apigw-signature-v2` value: Base64(HMAC-SHA256(secret, "METHOD path\ntimestamp\naccessKey")). */
export function sensSignature(method: string, pathWithQuery: string, timestamp: string, accessKey: string, secretKey: string): string {
  return createHmac('sha256', secretKey).update(`${method} ${pathWithQuery}\n${timestamp}\n${accessKey}`).digest('base64');
}

/** An SmsSender on SENS (or on the SENS simulator, which speaks the same API). */
export function createSensSmsSender(options: SensOptions): SmsSender {
  if (!/^\d{8,12}$/.test(options.from)) throw new Error('SENS sender number must be 8 to 12 digits');
  const url = new URL(`/sms/v2/services/${options.serviceId}/messages`, options.baseUrl);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? Date.now;

  return {
    async send({ to, text }: SmsMessage, { signal }: { signal?: AbortSignal } = {}): Promise<SentSms> {
      const national = koreanNationalNumber(to);
      const type = messageType(text);
      const timestamp = String(now());
      const body = JSON.stringify({ type, contentType: 'COMM', countryCode: '82', from: options.from, content: text, messages: [{ to: national }] });
      const timeout = AbortSignal.timeout(timeoutMs);
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json; charset=utf-8',
            'x-ncp-apigw-timestamp': timestamp,
            'x-ncp-iam-access-key': options.accessKey,
            'x-ncp-apigw-signature-v2': sensSignature('POST', url.pathname + url.search, timestamp, options.accessKey, options.secretKey),
          },
          body,
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
      } catch (err) {
        if (signal?.aborted) throw new SmsSendError('aborted', 'SMS send aborted', { retryable: true, cause: err });
        if (timeout.aborted) throw new SmsSendError('timeout', `SENS did not answer within ${timeoutMs} ms`, { retryable: true, cause: err });
        throw new SmsSendError('network', `could not reach SENS: ${(err as Error).message}`, { retryable: true, cause: err });
      }
      const payload = await readJson(response);
      if (response.status === 202 && typeof payload?.requestId === 'string' && payload.statusCode === '202') {
        return { providerRequestId: payload.requestId, type };
      }
      throw toSendError(response.status, payload);
    },
  };
}

function messageType(text: string): 'SMS' | 'LMS' {
  if (!text.trim()) throw new SmsSendError('invalid_request', '`text` must not be empty', { retryable: false });
  // SENS sends in EUC-KR, which has no characters outside the BMP (emoji); it fails on them.
  if (/[\uD800-\uDFFF]/.test(text)) throw new SmsSendError('invalid_request', '`text` has characters SMS cannot carry (emoji?)', { retryable: false });
  const bytes = eucKrLength(text);
  if (bytes <= SMS_MAX_BYTES) return 'SMS';
  if (bytes <= LMS_MAX_BYTES) return 'LMS';
  throw new SmsSendError('invalid_request', `\`text\` is ${bytes} bytes in EUC-KR; the limit is ${LMS_MAX_BYTES}`, { retryable: false });
}

/** ASCII takes one byte in EUC-KR, Hangul (and the other double-byte characters) two. */
const eucKrLength = (text: string) => [...text].reduce((n, ch) => n + (ch.charCodeAt(0) < 0x80 ? 1 : 2), 0);

type SensBody = {
  requestId?: unknown;
  statusCode?: unknown;
  statusName?: unknown;
  // API Gateway errors: { error: { errorCode, message, details } }.
  error?: { errorCode?: unknown; message?: unknown; details?: unknown; errorMessage?: unknown };
  // SENS's own errors: { status, errors, errorMessage }.
  status?: unknown;
  errors?: unknown;
  errorMessage?: unknown;
};

// Undefined for a body that is not a JSON object or that broke off: the status decides then.
async function readJson(response: Response): Promise<SensBody | undefined> {
  try {
    const parsed: unknown = JSON.parse(await response.text());
    return parsed && typeof parsed === 'object' ? (parsed as SensBody) : undefined;
  } catch {
    return undefined;
  }
}

function toSendError(status: number, body: SensBody | undefined): SmsSendError {
  const said = [body?.error?.message, body?.error?.details, body?.error?.errorMessage, body?.errorMessage, body?.statusName].filter(
    (s): s is string => typeof s === 'string' && s.length > 0,
  );
  const given = body?.error?.errorCode ?? body?.status;
  const message = `SENS answered ${status}${said.length ? `: ${said.join(' - ')}` : ''}`;
  const fail = (code: SmsSendErrorCode, retryable: boolean) =>
    new SmsSendError(code, message, { retryable, status, ...(given === undefined ? {} : { providerCode: String(given) }) });
  if (status === 401) return fail('unauthorized', false);
  if (status === 403) return fail('forbidden', false);
  if (status === 404) return fail('not_found', false);
  if (status === 429) return fail('rate_limited', true);
  if (status === 400 || status === 413) return fail('invalid_request', false);
  if (status >= 500) return fail('provider_unavailable', true);
  // A 2xx we cannot read may still have been sent: not retryable, so no one resends blindly.
  return fail('unexpected_response', false);
}

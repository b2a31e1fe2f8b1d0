/** One text message to one phone. */
export interface SmsMessage {
  /** E.164, Korean numbers only for now: `+821012345678`. */
  to: string;
  text: string;
}

export interface SentSms {
  /** The provider's id for the request, for support tickets and delivery look-ups. */
  providerRequestId: string;
  /** SMS up to 90 bytes (EUC-KR), LMS above. */
  type: 'SMS' | 'LMS';
}

/** The port the rest of the code sends SMS through. */
export interface SmsSender {
  send(message: SmsMessage, options?: { signal?: AbortSignal }): Promise<SentSms>;
}

export type SmsSendErrorCode =
  | 'invalid_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'rate_limited'
  | 'provider_unavailable'
  | 'network'
  | 'timeout'
  | 'aborted'
  | 'unexpected_response';

/** A send the provider did not accept (or that never reached it). */
export class SmsSendError extends Error {
  /** Whether the same request can succeed later; false for bad keys and bad input. */
  readonly retryable: boolean;
  /** HTTP status, when the provider answered. */
  readonly status: number | undefined;
  /** The provider's own error code (an API Gateway code such as `200`), when it gave one. */
  readonly providerCode: string | undefined;

  constructor(
    readonly code: SmsSendErrorCode,
    message: string,
    details: { retryable: boolean; status?: number; providerCode?: string; cause?: unknown },
  ) {
    super(message, { cause: details.cause });
    this.name = 'SmsSendError';
    this.retryable = details.retryable;
    this.status = details.status;
    this.providerCode = details.providerCode;
  }
}

const KOREAN_E164 = /^\+82[1-9]\d{7,9}$/;

/** `+821012345678` -> `01012345678`, the form Korean SMS gateways take with country code 82. */
export function koreanNationalNumber(e164: string): string {
  if (!KOREAN_E164.test(e164)) throw new SmsSendError('invalid_request', '`to` must be a Korean number in E.164 form (+82...)', { retryable: false });
  return `0${e164.slice(3)}`;
}

/** `+82 10-****-5678`: enough to tell messages apart in logs without writing the number down. */
export function maskPhone(e164: string): string {
  return e164.length > 7 ? `${e164.slice(0, 5)}****${e164.slice(-4)}` : '****';
}

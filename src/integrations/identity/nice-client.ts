import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  IdentityVerificationError,
  type IdentityVerificationErrorCode,
  type IdentityVerifier,
  type MobileCarrier,
  type ReturnedParams,
  type StartedVerification,
  type VerifiedIdentity,
} from './identity-verifier';

/**
 * NICE평가정보 본인확인 (통합형 표준창) over the NICE API gateway: an institution access token
 * (OAuth client_credentials), a per-request crypto token from which both sides derive an AES key,
 * the encrypted request handed to the standard window, and the encrypted result the window sends
 * back to our return URL. docs/identity-verification.md says what is modelled.
 */
export interface NiceOptions {
  /** The API gateway: `https://svc.niceapi.co.kr:22001` in production; the simulator locally. */
  baseUrl: string;
  /** The standard window's origin: `https://nice.checkplus.co.kr`; the simulator locally. */
  windowUrl: string;
  clientId: string;
  clientSecret: string;
  /** The product code of 본인확인(통합형) in the NICE console. */
  productId: string;
  timeoutMs?: number;
  /** For tests of expiry. */
  now?: () => number;
}

export const NICE_PATHS = {
  accessToken: '/digital/niceid/oauth/oauth/token',
  cryptoToken: '/digital/niceid/api/v1.0/common/crypto/token',
  window: '/CheckPlusSafeModel/service.cb',
} as const;

const GW_OK = '1200';
const REQUEST_NO_LENGTH = 30;
// Refresh a cached access token this long before NICE says it ends (it says ~50 years).
const ACCESS_TOKEN_MARGIN_MS = 60_000;

/**
 * The symmetric key of one crypto token, as NICE documents it: SHA-256 over
 * `req_dtim + req_no + token_val`, Base64, then key = first 16 characters, IV = last 16,
 * HMAC key = first 32 (characters of the Base64 text, used as bytes).
 */
export function niceSymmetricKey(reqDtim: string, reqNo: string, tokenVal: string): { key: Buffer; iv: Buffer; hmacKey: Buffer } {
  const digest = createHash('sha256').update(reqDtim.trim() + reqNo.trim() + tokenVal.trim()).digest('base64');
  return { key: Buffer.from(digest.slice(0, 16), 'latin1'), iv: Buffer.from(digest.slice(-16), 'latin1'), hmacKey: Buffer.from(digest.slice(0, 32), 'latin1') };
}

/** `integrity_value`: Base64(HMAC-SHA256(hmacKey, enc_data as text)). */
export const niceIntegrity = (encData: string, hmacKey: Buffer) => createHmac('sha256', hmacKey).update(encData, 'utf8').digest('base64');

/** An IdentityVerifier on NICE (or on the NICE simulator, which speaks the same API). */
export function createNiceIdentityVerifier(options: NiceOptions): IdentityVerifier {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  let accessToken: { value: string; expiresAt: number } | undefined;

  const call = async (path: string, init: RequestInit, signal: AbortSignal | undefined): Promise<{ status: number; body: NiceBody | undefined }> => {
    const timeout = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await fetch(new URL(path, options.baseUrl), { ...init, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    } catch (err) {
      const why = signal?.aborted ? 'the request was aborted' : timeout.aborted ? `NICE did not answer within ${timeoutMs} ms` : `could not reach NICE: ${(err as Error).message}`;
      throw new IdentityVerificationError('provider_unavailable', why, { retryable: true, cause: err });
    }
    return { status: response.status, body: await readJson(response) };
  };

  const fetchAccessToken = async (signal: AbortSignal | undefined): Promise<string> => {
    if (accessToken && accessToken.expiresAt - ACCESS_TOKEN_MARGIN_MS > now()) return accessToken.value;
    const basic = Buffer.from(`${options.clientId}:${options.clientSecret}`).toString('base64');
    const { status, body } = await call(
      NICE_PATHS.accessToken,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${basic}` },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'default' }).toString(),
      },
      signal,
    );
    assertGateway('access token', status, body);
    const token = body?.dataBody?.access_token;
    const expiresIn = Number(body?.dataBody?.expires_in);
    if (typeof token !== 'string' || !token || !Number.isFinite(expiresIn)) throw invalid('NICE access token response lacks access_token or expires_in', status);
    accessToken = { value: token, expiresAt: now() + expiresIn * 1000 };
    return token;
  };

  const requestCryptoToken = async (reqDtim: string, reqNo: string, signal: AbortSignal | undefined, retried = false): Promise<CryptoToken> => {
    const token = await fetchAccessToken(signal);
    const seconds = Math.floor(now() / 1000);
    const { status, body } = await call(
      NICE_PATHS.cryptoToken,
      {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Authorization: `bearer ${Buffer.from(`${token}:${seconds}:${options.clientId}`).toString('base64')}`,
          client_id: options.clientId,
          ProductID: options.productId,
        },
        body: JSON.stringify({ dataHeader: { CNTY_CD: 'ko' }, dataBody: { req_dtim: reqDtim, req_no: reqNo, enc_mode: '1' } }),
      },
      signal,
    );
    // A revoked or expired institution token: fetch a new one once, then give up.
    if (status === 401 && !retried) {
      accessToken = undefined;
      return requestCryptoToken(reqDtim, reqNo, signal, true);
    }
    assertGateway('crypto token', status, body);
    const data = body?.dataBody ?? {};
    if (data.rsp_cd !== 'P000') throw invalid(`NICE refused the crypto token request: ${String(data.rsp_cd)} ${String(data.res_msg ?? '')}`.trim(), status, String(data.rsp_cd));
    if (data.result_cd !== '0000') throw cryptoTokenFailure(String(data.result_cd), status);
    const { site_code: siteCode, token_version_id: tokenVersionId, token_val: tokenVal } = data;
    const period = Number(data.period);
    if (typeof siteCode !== 'string' || typeof tokenVersionId !== 'string' || typeof tokenVal !== 'string' || !siteCode || !tokenVersionId || !tokenVal || !(period > 0)) {
      throw invalid('NICE crypto token response lacks site_code, token_version_id, token_val or period', status);
    }
    return { siteCode, tokenVersionId, tokenVal, period };
  };

  return {
    async start({ returnUrl }, { signal } = {}): Promise<StartedVerification> {
      if (!/^https?:\/\//i.test(returnUrl) || !URL.canParse(returnUrl)) throw new TypeError('returnUrl must be an absolute http(s) URL');
      const transactionId = newRequestNo();
      const startedAt = now();
      const reqDtim = kstDateTime(startedAt);
      const crypto = await requestCryptoToken(reqDtim, transactionId, signal);
      const { key, iv, hmacKey } = niceSymmetricKey(reqDtim, transactionId, crypto.tokenVal);

      const request = { requestno: transactionId, returnurl: returnUrl, sitecode: crypto.siteCode, authtype: 'M', methodtype: 'get', popupyn: 'Y', receivedata: '' };
      const cipher = createCipheriv('aes-128-cbc', key, iv);
      const encData = Buffer.concat([cipher.update(JSON.stringify(request), 'utf8'), cipher.final()]).toString('base64');
      const authUrl = new URL(NICE_PATHS.window, options.windowUrl);
      authUrl.search = new URLSearchParams({ m: 'service', token_version_id: crypto.tokenVersionId, enc_data: encData, integrity_value: niceIntegrity(encData, hmacKey) }).toString();

      const expiresAt = startedAt + crypto.period * 1000;
      const secret: ResumeSecret = { v: 1, rn: transactionId, tv: crypto.tokenVersionId, dt: reqDtim, tk: crypto.tokenVal, sc: crypto.siteCode, exp: expiresAt };
      return { transactionId, authUrl: authUrl.toString(), expiresAt: new Date(expiresAt), resumeSecret: Buffer.from(JSON.stringify(secret)).toString('base64url') };
    },

    async result(transactionId, { resumeSecret, returned }): Promise<VerifiedIdentity> {
      const secret = parseResumeSecret(resumeSecret);
      if (!secret || secret.rn !== transactionId) throw fail('not_found', 'the resume secret is not the one start() returned for this transaction', false);
      const tokenVersionId = param(returned, 'token_version_id');
      const encData = param(returned, 'enc_data');
      const integrityValue = param(returned, 'integrity_value');
      // The window sends nothing back when the user closes it or gives up.
      if (!encData) throw fail('not_completed', 'the user did not complete the verification', true);
      if (tokenVersionId !== secret.tv) throw fail('not_found', 'the returned token_version_id belongs to another verification', false);
      if (now() > secret.exp) throw fail('expired', 'the verification expired before its result was read', true);

      const { key, iv, hmacKey } = niceSymmetricKey(secret.dt, transactionId, secret.tk);
      const expected = Buffer.from(niceIntegrity(encData, hmacKey));
      const given = Buffer.from(integrityValue ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid('the returned integrity_value does not match enc_data');

      let data: NiceResult;
      try {
        const decipher = createDecipheriv('aes-128-cbc', key, iv);
        const plain = Buffer.concat([decipher.update(Buffer.from(encData, 'base64')), decipher.final()]);
        // NICE encodes the result in EUC-KR (the names are Korean).
        data = JSON.parse(new TextDecoder('euc-kr', { fatal: true }).decode(plain)) as NiceResult;
      } catch (err) {
        throw new IdentityVerificationError('invalid_response', 'the returned enc_data does not decrypt to a NICE result', { retryable: false, cause: err });
      }
      if (data.requestno !== transactionId) throw fail('not_found', 'the result is for another request number', false);
      if (data.resultcode !== '0000') throw fail('not_completed', `NICE reports result code ${String(data.resultcode)}`, true, String(data.resultcode));
      if (data.sitecode !== secret.sc) throw invalid('the result is for another site code');
      return toIdentity(transactionId, data);
    },
  };
}

interface CryptoToken {
  siteCode: string;
  tokenVersionId: string;
  tokenVal: string;
  /** Seconds the token (and so the verification) stays usable. */
  period: number;
}

/** What `result` needs, kept by the caller between the two legs. */
interface ResumeSecret {
  v: 1;
  rn: string;
  tv: string;
  dt: string;
  tk: string;
  sc: string;
  exp: number;
}

function parseResumeSecret(text: string): ResumeSecret | undefined {
  try {
    const s = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<ResumeSecret>;
    const ok = s.v === 1 && [s.rn, s.tv, s.dt, s.tk, s.sc].every((v) => typeof v === 'string' && v.length > 0) && typeof s.exp === 'number';
    return ok ? (s as ResumeSecret) : undefined;
  } catch {
    return undefined;
  }
}

interface NiceResult {
  resultcode?: unknown;
  requestno?: unknown;
  enctime?: unknown;
  sitecode?: unknown;
  name?: unknown;
  utf8_name?: unknown;
  birthdate?: unknown;
  gender?: unknown;
  nationalinfo?: unknown;
  mobileco?: unknown;
  mobileno?: unknown;
  ci?: unknown;
  di?: unknown;
}

const CARRIERS: Record<string, MobileCarrier> = { '1': 'SKT', '2': 'KT', '3': 'LGU+', '5': 'SKT_MVNO', '6': 'KT_MVNO', '7': 'LGU+_MVNO' };

function toIdentity(transactionId: string, data: NiceResult): VerifiedIdentity {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  // utf8_name is exact; `name` went through EUC-KR, which lacks some characters of Korean names.
  let name = str(data.name);
  try {
    if (str(data.utf8_name)) name = decodeURIComponent(str(data.utf8_name));
  } catch {
    // keep the EUC-KR name
  }
  const birth = str(data.birthdate);
  const mobile = str(data.mobileno);
  const carrier = CARRIERS[str(data.mobileco)];
  const verifiedAt = parseKstDateTime(str(data.enctime));
  const ci = str(data.ci);
  const di = str(data.di);
  if (!name.trim() || !/^\d{8}$/.test(birth) || !/^01\d{8,9}$/.test(mobile) || !carrier || !verifiedAt || !ci || !di) {
    throw invalid('the NICE result lacks a field or has one in an unexpected form');
  }
  if (data.gender !== '0' && data.gender !== '1') throw invalid('the NICE result has an unknown gender code');
  if (data.nationalinfo !== '0' && data.nationalinfo !== '1') throw invalid('the NICE result has an unknown nationality code');
  return {
    transactionId,
    name: name.trim(),
    birthDate: `${birth.slice(0, 4)}-${birth.slice(4, 6)}-${birth.slice(6, 8)}`,
    gender: data.gender === '1' ? 'male' : 'female',
    nationality: data.nationalinfo === '1' ? 'foreign' : 'domestic',
    phone: `+82${mobile.slice(1)}`,
    mobileCarrier: carrier,
    ci,
    di,
    verifiedAt,
  };
}

const param = (returned: ReturnedParams, name: string) => {
  const v = returned[name];
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' && first !== '' ? first : undefined;
};

type NiceBody = {
  dataHeader?: { GW_RSLT_CD?: unknown; GW_RSLT_MSG?: unknown };
  dataBody?: Record<string, unknown>;
};

async function readJson(response: Response): Promise<NiceBody | undefined> {
  try {
    const parsed: unknown = JSON.parse(await response.text());
    return parsed && typeof parsed === 'object' ? (parsed as NiceBody) : undefined;
  } catch {
    return undefined;
  }
}

function assertGateway(what: string, status: number, body: NiceBody | undefined): void {
  const code = body?.dataHeader?.GW_RSLT_CD;
  if (status === 200 && code === GW_OK) return;
  const said = typeof body?.dataHeader?.GW_RSLT_MSG === 'string' ? `: ${body.dataHeader.GW_RSLT_MSG}` : '';
  const message = `NICE ${what} request answered ${status}${code === undefined ? '' : ` ${String(code)}`}${said}`;
  const details = (retryable: boolean) => ({ retryable, status, ...(code === undefined ? {} : { providerCode: String(code) }) });
  if (status === 401 || status === 403) throw new IdentityVerificationError('unauthorized', message, details(false));
  if (status === 429 || status >= 500) throw new IdentityVerificationError('provider_unavailable', message, details(true));
  throw new IdentityVerificationError('invalid_response', message, details(false));
}

function cryptoTokenFailure(resultCode: string, status: number): IdentityVerificationError {
  const message = `NICE did not issue a crypto token: result_cd ${resultCode}`;
  // 0003: the client is not contracted for this product; 0099: NICE's "other error".
  if (resultCode === '0003') return new IdentityVerificationError('unauthorized', message, { retryable: false, status, providerCode: resultCode });
  if (resultCode === '0099') return new IdentityVerificationError('provider_unavailable', message, { retryable: true, status, providerCode: resultCode });
  return new IdentityVerificationError('invalid_response', message, { retryable: false, status, providerCode: resultCode });
}

const fail = (code: IdentityVerificationErrorCode, message: string, retryable: boolean, providerCode?: string) =>
  new IdentityVerificationError(code, message, { retryable, ...(providerCode === undefined ? {} : { providerCode }) });

const invalid = (message: string, status?: number, providerCode?: string) =>
  new IdentityVerificationError('invalid_response', message, { retryable: false, ...(status === undefined ? {} : { status }), ...(providerCode === undefined ? {} : { providerCode }) });

// NICE wants a 30-character request number, unique per request: 30 random base-36 characters.
const newRequestNo = () => {
  let id = '';
  while (id.length < REQUEST_NO_LENGTH) id += BigInt(`0x${randomBytes(16).toString('hex')}`).toString(36);
  return id.slice(0, REQUEST_NO_LENGTH).toUpperCase();
};

const KST_OFFSET_MS = 9 * 3_600_000;

/** `YYYYMMDDHH24MISS` in Korean time, NICE's `req_dtim` and `enctime`. */
export const kstDateTime = (ms: number) => new Date(ms + KST_OFFSET_MS).toISOString().replace(/\D/g, '').slice(0, 14);

function parseKstDateTime(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!m) return undefined;
  const at = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}+09:00`);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

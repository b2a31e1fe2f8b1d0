import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { listenSimulator, readRequestBody } from '../simulator-server';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../../platform/logger';
import type { Gender, MobileCarrier, Nationality } from './identity-verifier';

/** The credentials `make start` and the config defaults share with the simulator. Never real keys. */
export const NICE_SIMULATOR_DEFAULTS = {
  clientId: 'local-nice-client-id',
  clientSecret: 'local-nice-client-secret',
  productId: '2101979031',
  siteCode: 'JGLOCAL01',
  /** Seeds CI and DI, so the same person gets the same CI on every run. */
  secret: 'local-nice-simulator-secret',
} as const;

export interface NiceSimulatorOptions {
  /** 0 for an ephemeral port (tests); `make start` passes the port of the configured URL. */
  port?: number;
  host?: string;
  clientId?: string;
  clientSecret?: string;
  productId?: string;
  siteCode?: string;
  secret?: string;
  /** How long a verification may take from start to completion; 10 minutes by default. */
  transactionTtlMs?: number;
  /** `expires_in` of institution access tokens; NICE issues ~50-year tokens. */
  accessTokenTtlSeconds?: number;
  log?: Logger;
}

/** The person who "completes" a verification in the simulated window. */
export interface SimulatedPerson {
  name: string;
  /** `YYYYMMDD`. */
  birthDate: string;
  gender: Gender;
  mobileCarrier: MobileCarrier;
  /** `01012345678` or `+821012345678`. */
  phone: string;
  nationality?: Nationality;
}

/** What the window hands the browser: the return URL with NICE's three parameters. */
export interface CompletedVerification {
  /** The URL the browser is sent to (GET), parameters included. */
  redirectUrl: string;
  returned: { token_version_id: string; enc_data: string; integrity_value: string };
}

export interface SimulatedRequest {
  method: string;
  path: string;
  status: number;
}

export interface NiceSimulator {
  /** Both the API gateway's and the window's origin, e.g. `http://127.0.0.1:41234`. */
  url: string;
  clientId: string;
  clientSecret: string;
  productId: string;
  siteCode: string;
  /** Every request with the status it got (paths without query strings). */
  requests(): SimulatedRequest[];
  /** The next `count` API gateway calls (token, crypto token) fail with `status` (500 by default). */
  failNext(count: number, status?: number): void;
  /** Forgets every institution token issued, as if NICE revoked them. */
  revokeAccessTokens(): void;
  /** Completes the verification behind `authUrl` as `person`, over HTTP like a browser would. */
  complete(authUrl: string, person: SimulatedPerson): Promise<CompletedVerification>;
  /** The CI this simulator issues for `person`. */
  ciOf(person: SimulatedPerson): string;
  stop(): Promise<void>;
}

const PATHS = {
  accessToken: '/digital/niceid/oauth/oauth/token',
  cryptoToken: '/digital/niceid/api/v1.0/common/crypto/token',
  window: '/CheckPlusSafeModel/service.cb',
  complete: '/CheckPlusSafeModel/simulator/complete',
} as const;
const MAX_BODY_BYTES = 64 * 1024;
// NICE does not publish its skew tolerance for the bearer timestamp; five minutes, like SENS.
const MAX_CLOCK_SKEW_S = 5 * 60;
const CARRIER_CODES: Record<MobileCarrier, string> = { SKT: '1', KT: '2', 'LGU+': '3', SKT_MVNO: '5', KT_MVNO: '6', 'LGU+_MVNO': '7' };

interface Transaction {
  tokenVersionId: string;
  reqNo: string;
  key: Buffer;
  iv: Buffer;
  hmacKey: Buffer;
  expiresAt: number;
  completed: boolean;
}

interface WindowRequest {
  requestno: string;
  returnurl: string;
  sitecode: string;
  methodtype: string;
  receivedata: string;
}

type Reply = { status: number; json?: object; html?: string; location?: string };

/**
 * A local stand-in for NICE 본인확인 (통합형): the API gateway's institution token and crypto
 * token endpoints, and the standard window, which checks and decrypts the request, lets a person
 * "verify" (an HTML form, or a JSON call for tests) and sends the encrypted result to returnurl.
 */
export async function startNiceSimulator(options: NiceSimulatorOptions = {}): Promise<NiceSimulator> {
  const host = options.host ?? '127.0.0.1';
  const config = {
    clientId: options.clientId ?? NICE_SIMULATOR_DEFAULTS.clientId,
    clientSecret: options.clientSecret ?? NICE_SIMULATOR_DEFAULTS.clientSecret,
    productId: options.productId ?? NICE_SIMULATOR_DEFAULTS.productId,
    siteCode: options.siteCode ?? NICE_SIMULATOR_DEFAULTS.siteCode,
  };
  const secret = options.secret ?? NICE_SIMULATOR_DEFAULTS.secret;
  const ttlMs = options.transactionTtlMs ?? 10 * 60_000;
  const accessTokenTtlS = options.accessTokenTtlSeconds ?? 50 * 365 * 24 * 3600;
  const accessTokens = new Map<string, number>();
  const transactions = new Map<string, Transaction>();
  const log: SimulatedRequest[] = [];
  let failures = { remaining: 0, status: 500 };

  const ciOf = (p: { name: string; birthdate: string; mobileno: string }) =>
    createHmac('sha512', secret).update(`ci\0${p.name}\0${p.birthdate}\0${p.mobileno}`).digest('base64');
  const diOf = (ci: string, siteCode: string) => createHmac('sha384', secret).update(`di\0${siteCode}\0${ci}`).digest('base64');

  const issueAccessToken = (req: IncomingMessage, raw: Buffer): Reply => {
    const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const [id, pass] = basic ? splitOnce(Buffer.from(basic, 'base64').toString('utf8'), ':') : [];
    if (id !== config.clientId || !safeEqual(pass ?? '', config.clientSecret)) return gateway(401, '1401', 'Unauthorized: client_id or client_secret is wrong');
    const form = new URLSearchParams(raw.toString('utf8'));
    if (form.get('grant_type') !== 'client_credentials') return gateway(400, '1400', 'grant_type must be client_credentials');
    const token = randomUUID();
    accessTokens.set(token, Date.now() + accessTokenTtlS * 1000);
    return gateway(200, '1200', '오류 없음', { access_token: token, token_type: 'bearer', expires_in: accessTokenTtlS, scope: form.get('scope') ?? 'default' });
  };

  const issueCryptoToken = (req: IncomingMessage, raw: Buffer): Reply => {
    const bearer = /^bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const [token, timestamp, clientId] = bearer ? Buffer.from(bearer, 'base64').toString('utf8').split(':') : [];
    const tokenExpiry = accessTokens.get(token ?? '');
    const skew = Math.abs(Date.now() / 1000 - Number(timestamp));
    if (!tokenExpiry || tokenExpiry < Date.now() || !(skew <= MAX_CLOCK_SKEW_S) || clientId !== config.clientId || req.headers.client_id !== config.clientId) {
      return gateway(401, '1401', 'Unauthorized: invalid access token');
    }
    if (req.headers.productid !== config.productId) return gateway(403, '1403', 'Forbidden: the product is not subscribed');
    const body = parseJson(raw) as { dataBody?: { req_dtim?: unknown; req_no?: unknown; enc_mode?: unknown } } | undefined;
    const { req_dtim: reqDtim, req_no: reqNo, enc_mode: encMode } = body?.dataBody ?? {};
    if (typeof reqDtim !== 'string' || !/^\d{14}$/.test(reqDtim) || typeof reqNo !== 'string' || reqNo.length < 1 || reqNo.length > 30 || encMode !== '1') {
      return gateway(200, '1200', '오류 없음', { rsp_cd: 'P000', result_cd: '0001' });
    }
    const tokenVal = randomBytes(24).toString('base64');
    const tokenVersionId = `${reqDtim}${randomBytes(2).toString('hex')}-NC${randomBytes(3).toString('hex').toUpperCase()}-${randomBytes(6).toString('hex').toUpperCase()}`;
    transactions.set(tokenVersionId, { tokenVersionId, reqNo, ...symmetricKey(reqDtim + reqNo + tokenVal), expiresAt: Date.now() + ttlMs, completed: false });
    return gateway(200, '1200', '오류 없음', { rsp_cd: 'P000', result_cd: '0000', site_code: config.siteCode, token_version_id: tokenVersionId, token_val: tokenVal, period: ttlMs / 1000 });
  };

  /** The window's checks of `token_version_id`, `enc_data` and `integrity_value`. */
  const openWindow = (params: URLSearchParams): { tx: Transaction; request: WindowRequest } | Reply => {
    const tx = transactions.get(params.get('token_version_id') ?? '');
    if (!tx) return problem(404, 'unknown_transaction', 'No verification has this token_version_id.');
    if (tx.expiresAt < Date.now()) return problem(410, 'expired', 'This verification has expired; start a new one.');
    if (tx.completed) return problem(409, 'already_completed', 'This verification has already been completed.');
    const encData = params.get('enc_data') ?? '';
    if (!safeEqual(params.get('integrity_value') ?? '', createHmac('sha256', tx.hmacKey).update(encData).digest('base64'))) {
      return problem(400, 'integrity_mismatch', 'integrity_value does not match enc_data.');
    }
    let request: Partial<WindowRequest>;
    try {
      const decipher = createDecipheriv('aes-128-cbc', tx.key, tx.iv);
      request = JSON.parse(Buffer.concat([decipher.update(Buffer.from(encData, 'base64')), decipher.final()]).toString('utf8')) as Partial<WindowRequest>;
    } catch {
      return problem(400, 'invalid_request', 'enc_data does not decrypt with this token.');
    }
    if (request.sitecode !== config.siteCode) return problem(400, 'invalid_request', 'sitecode is not this site.');
    if (typeof request.requestno !== 'string' || !request.requestno || request.requestno.length > 30) return problem(400, 'invalid_request', 'requestno is required (up to 30 characters).');
    if (typeof request.returnurl !== 'string' || !/^https?:\/\//i.test(request.returnurl) || !URL.canParse(request.returnurl)) return problem(400, 'invalid_request', 'returnurl must be an http(s) URL.');
    const methodtype = String(request.methodtype ?? 'post').toLowerCase();
    if (methodtype !== 'get' && methodtype !== 'post') return problem(400, 'invalid_request', 'methodtype must be get or post.');
    return { tx, request: { requestno: request.requestno, returnurl: request.returnurl, sitecode: request.sitecode, methodtype, receivedata: String(request.receivedata ?? '') } };
  };

  const complete = (req: IncomingMessage, raw: Buffer): Reply => {
    const asJson = (req.headers['content-type'] ?? '').includes('json');
    const fields = asJson ? new URLSearchParams(stringRecord(parseJson(raw))) : new URLSearchParams(raw.toString('utf8'));
    const opened = openWindow(fields);
    if ('status' in opened) return opened;
    const person = readPerson(fields);
    if (typeof person === 'string') return problem(400, 'invalid_person', person);
    const { tx, request } = opened;
    tx.completed = true;

    const ci = ciOf(person);
    const result = {
      resultcode: '0000',
      requestno: request.requestno,
      enctime: kstDateTime(Date.now()),
      sitecode: request.sitecode,
      responseno: `SIM${randomBytes(8).toString('hex').toUpperCase()}`,
      authtype: 'M',
      name: person.name,
      utf8_name: encodeURIComponent(person.name),
      birthdate: person.birthdate,
      gender: person.gender,
      nationalinfo: person.nationalinfo,
      mobileco: person.mobileco,
      mobileno: person.mobileno,
      ci,
      di: diOf(ci, request.sitecode),
      businessno: '',
      receivedata: request.receivedata,
    };
    const cipher = createCipheriv('aes-128-cbc', tx.key, tx.iv);
    const encData = Buffer.concat([cipher.update(eucKr(JSON.stringify(result))), cipher.final()]).toString('base64');
    const returned = { token_version_id: tx.tokenVersionId, enc_data: encData, integrity_value: createHmac('sha256', tx.hmacKey).update(encData).digest('base64') };
    const redirect = new URL(request.returnurl);
    for (const [k, v] of Object.entries(returned)) redirect.searchParams.set(k, v);
    options.log?.info({ request_no: request.requestno, name: person.name, return_url: request.returnurl }, 'nice simulator: verification completed');

    if (asJson) return { status: 200, json: { redirectUrl: redirect.toString(), method: request.methodtype, returned } };
    if (request.methodtype === 'get') return { status: 302, location: redirect.toString() };
    return { status: 200, html: autoPostForm(request.returnurl, returned) };
  };

  const handle = async (req: IncomingMessage): Promise<Reply> => {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const raw = await readRequestBody(req, MAX_BODY_BYTES);
    if (raw === undefined) return gateway(413, '1413', 'Request Entity Too Large');
    const api = url.pathname === PATHS.accessToken || url.pathname === PATHS.cryptoToken;
    if (api && req.method === 'POST' && failures.remaining > 0) {
      failures.remaining--;
      return gateway(failures.status, String(1000 + failures.status), 'Simulated failure');
    }
    if (url.pathname === PATHS.accessToken && req.method === 'POST') return issueAccessToken(req, raw);
    if (url.pathname === PATHS.cryptoToken && req.method === 'POST') return issueCryptoToken(req, raw);
    if (url.pathname === PATHS.window && (req.method === 'GET' || req.method === 'POST')) {
      const params = req.method === 'GET' ? url.searchParams : new URLSearchParams(raw.toString('utf8'));
      const opened = openWindow(params);
      return 'status' in opened ? opened : { status: 200, html: windowPage(params) };
    }
    if (url.pathname === PATHS.complete && req.method === 'POST') return complete(req, raw);
    return gateway(404, '1404', 'Not Found');
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    handle(req)
      .catch((): Reply => gateway(500, '1500', 'Unexpected Error'))
      .then((reply) => {
        log.push({ method: req.method ?? '', path: (req.url ?? '').split('?')[0]!, status: reply.status });
        if (reply.location) res.writeHead(reply.status, { Location: reply.location }).end();
        else if (reply.html !== undefined) res.writeHead(reply.status, { 'Content-Type': 'text/html; charset=utf-8' }).end(reply.html);
        else res.writeHead(reply.status, { 'Content-Type': 'application/json;charset=UTF-8' }).end(JSON.stringify(reply.json ?? {}));
      });
  });
  const { url, stop } = await listenSimulator(server, options.port, host);

  return {
    url,
    ...config,
    requests: () => [...log],
    failNext(count, status = 500) {
      failures = { remaining: count, status };
    },
    revokeAccessTokens: () => accessTokens.clear(),
    complete: (authUrl, person) => completeVerification(authUrl, person),
    ciOf: (person) => {
      const fields = readPerson(new URLSearchParams(personFields(person)));
      if (typeof fields === 'string') throw new Error(fields);
      return ciOf(fields);
    },
    stop,
  };
}

/**
 * Completes the verification behind `authUrl` (from `start`) as `person` in the simulator that
 * issued it, and returns where the window sends the browser. For tests and local tools.
 */
export async function completeVerification(authUrl: string, person: SimulatedPerson): Promise<CompletedVerification> {
  const auth = new URL(authUrl);
  const body = { ...Object.fromEntries(auth.searchParams), ...personFields(person) };
  const response = await fetch(new URL(PATHS.complete, auth.origin), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const answer = (await response.json()) as CompletedVerification & { error?: string; message?: string };
  if (response.status !== 200) throw new Error(`nice simulator refused the completion (${response.status} ${answer.error}): ${answer.message}`);
  return { redirectUrl: answer.redirectUrl, returned: answer.returned };
}

/** The window form's fields, NICE's codes. */
function personFields(p: SimulatedPerson): Record<string, string> {
  return {
    name: p.name,
    birthdate: p.birthDate,
    gender: p.gender === 'male' ? '1' : p.gender === 'female' ? '0' : '',
    mobileco: CARRIER_CODES[p.mobileCarrier] ?? '',
    mobileno: p.phone.startsWith('+82') ? `0${p.phone.slice(3)}` : p.phone,
    nationalinfo: p.nationality === 'foreign' ? '1' : '0',
  };
}

type PersonFields = { name: string; birthdate: string; gender: string; mobileco: string; mobileno: string; nationalinfo: string };

function readPerson(f: URLSearchParams): PersonFields | string {
  const get = (k: string) => (f.get(k) ?? '').trim();
  const person = { name: get('name'), birthdate: get('birthdate'), gender: get('gender'), mobileco: get('mobileco'), mobileno: get('mobileno').replace(/-/g, ''), nationalinfo: get('nationalinfo') || '0' };
  if (!person.name || person.name.length > 50) return 'name is required.';
  const birth = /^(\d{4})(\d{2})(\d{2})$/.exec(person.birthdate);
  const day = birth ? new Date(Date.UTC(Number(birth[1]), Number(birth[2]) - 1, Number(birth[3]))) : undefined;
  // Date.UTC rolls 0230 over into March; a real date survives the round trip.
  if (!day || day.toISOString().slice(0, 10).replace(/-/g, '') !== person.birthdate) return 'birthdate must be a date, YYYYMMDD.';
  if (person.gender !== '0' && person.gender !== '1') return 'gender must be 0 (female) or 1 (male).';
  if (!Object.values(CARRIER_CODES).includes(person.mobileco)) return 'mobileco must be 1, 2, 3, 5, 6 or 7.';
  if (!/^01\d{8,9}$/.test(person.mobileno)) return 'mobileno must be a Korean mobile number, 010XXXXXXXX.';
  if (person.nationalinfo !== '0' && person.nationalinfo !== '1') return 'nationalinfo must be 0 (domestic) or 1 (foreign).';
  return person;
}

/** The same derivation as NICE documents (the client has its own copy, so a slip shows in tests). */
function symmetricKey(seed: string): { key: Buffer; iv: Buffer; hmacKey: Buffer } {
  const digest = createHash('sha256').update(seed).digest('base64');
  return { key: Buffer.from(digest.slice(0, 16), 'latin1'), iv: Buffer.from(digest.slice(-16), 'latin1'), hmacKey: Buffer.from(digest.slice(0, 32), 'latin1') };
}

let eucKrTable: Map<string, number[]> | undefined;

/** Encodes as NICE does (EUC-KR, in practice CP949); characters it cannot carry become `?`. */
function eucKr(text: string): Buffer {
  if (!eucKrTable) {
    // Node ships a decoder for EUC-KR but no encoder: invert the decoder once.
    eucKrTable = new Map();
    const decoder = new TextDecoder('euc-kr');
    for (let lead = 0x81; lead <= 0xfe; lead++) {
      for (let trail = 0x41; trail <= 0xfe; trail++) {
        const ch = decoder.decode(Uint8Array.of(lead, trail));
        if (ch.length === 1 && ch !== '\uFFFD' && !eucKrTable.has(ch)) eucKrTable.set(ch, [lead, trail]);
      }
    }
  }
  const bytes: number[] = [];
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code < 0x80) bytes.push(code);
    else bytes.push(...(eucKrTable.get(ch) ?? [0x3f]));
  }
  return Buffer.from(bytes);
}

const gateway = (status: number, code: string, message: string, dataBody?: object): Reply => ({
  status,
  json: { dataHeader: { GW_RSLT_CD: code, GW_RSLT_MSG: message }, ...(dataBody ? { dataBody } : {}) },
});

const problem = (status: number, error: string, message: string): Reply => ({ status, json: { error, message } });

const KST_OFFSET_MS = 9 * 3_600_000;
const kstDateTime = (ms: number) => new Date(ms + KST_OFFSET_MS).toISOString().replace(/\D/g, '').slice(0, 14);

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function splitOnce(text: string, sep: string): [string, string] {
  const i = text.indexOf(sep);
  return i < 0 ? [text, ''] : [text.slice(0, i), text.slice(i + 1)];
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

function stringRecord(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object') return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const hidden = (fields: Record<string, string>) =>
  Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('');

/** The simulated window for `make start`: a form standing in for the carrier's verification. */
function windowPage(params: URLSearchParams): string {
  const carry = hidden({ token_version_id: params.get('token_version_id') ?? '', enc_data: params.get('enc_data') ?? '', integrity_value: params.get('integrity_value') ?? '' });
  const carriers = Object.entries(CARRIER_CODES)
    .map(([name, code]) => `<option value="${code}">${escapeHtml(name)}</option>`)
    .join('');
  return `<!doctype html><html lang="ko"><meta charset="utf-8"><title>본인확인 (NICE 시뮬레이터)</title>
<h1>본인확인 — NICE simulator</h1><p>Nothing is checked: whoever you type in is "verified".</p>
<form method="post" action="${PATHS.complete}">${carry}
<p><label>이름 <input name="name" value="홍길동" required></label></p>
<p><label>생년월일 (YYYYMMDD) <input name="birthdate" value="19900101" pattern="\\d{8}" required></label></p>
<p><label>성별 <select name="gender"><option value="1">남</option><option value="0">여</option></select></label></p>
<p><label>내외국인 <select name="nationalinfo"><option value="0">내국인</option><option value="1">외국인</option></select></label></p>
<p><label>통신사 <select name="mobileco">${carriers}</select></label></p>
<p><label>휴대폰 번호 <input name="mobileno" value="01012345678" pattern="01\\d{8,9}" required></label></p>
<p><button type="submit">인증 완료</button></p></form></html>`;
}

/** What the window does for `methodtype: post`: the browser posts the result to returnurl. */
const autoPostForm = (returnUrl: string, returned: Record<string, string>) =>
  `<!doctype html><html><meta charset="utf-8"><body onload="document.forms[0].submit()"><form method="post" action="${escapeHtml(returnUrl)}">${hidden(returned)}<noscript><button>계속</button></noscript></form></body></html>`;

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { listenSimulator, readRequestBody } from '../simulator-server';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../../platform/logger';

/** The credentials `make start` and the config defaults share with the simulator. Never real keys. */
export const SENS_SIMULATOR_DEFAULTS = {
  accessKey: 'local-sens-access-key',
  secretKey: 'local-sens-secret-key',
  serviceId: 'ncp:sms:kr:000000000000:junggo-local',
} as const;

export interface SmsSimulatorOptions {
  /** 0 for an ephemeral port (tests); `make start` passes the port of SMS_PROVIDER_URL. */
  port?: number;
  host?: string;
  accessKey?: string;
  secretKey?: string;
  serviceId?: string;
  /** Logs each message accepted, text included: the way to read a code locally. */
  log?: Logger;
}

/** One recipient's message of an accepted send request. */
export interface ReceivedSms {
  requestId: string;
  type: 'SMS' | 'LMS' | 'MMS';
  contentType: 'COMM' | 'AD';
  countryCode: string;
  from: string;
  /** As sent to SENS: national digits, e.g. `01012345678`. */
  to: string;
  content: string;
}

export interface SimulatedRequest {
  method: string;
  path: string;
  status: number;
}

export interface SmsSimulator {
  /** The base URL, e.g. `http://127.0.0.1:41234`: what SMS_PROVIDER_URL points at. */
  url: string;
  accessKey: string;
  secretKey: string;
  serviceId: string;
  /** Messages of accepted (202) requests, oldest first. */
  messages(): ReceivedSms[];
  /** Every request with the status it got, failures included. */
  requests(): SimulatedRequest[];
  waitFor(predicate: (sms: ReceivedSms) => boolean, timeoutMs?: number): Promise<ReceivedSms>;
  /** The next `count` authenticated sends fail with `status` (500 by default) and send nothing. */
  failNext(count: number, status?: number): void;
  stop(): Promise<void>;
}

// "A request is considered invalid if the timestamp differs from the current time by more than 5 minutes."
const MAX_CLOCK_SKEW_MS = 5 * 60_000;
const SEND_PATH = /^\/sms\/v2\/services\/([^/?]+)\/messages$/;
const MAX_BODY_BYTES = 1_000_000;

/**
 * A local stand-in for NAVER Cloud SENS's SMS v2 send endpoint: same path, the API Gateway's
 * signature check and error bodies, SENS's request validation and 202 response.
 *
 * SENS has no idempotency key: two identical requests are two messages, here as there.
 */
export async function startSmsSimulator(options: SmsSimulatorOptions = {}): Promise<SmsSimulator> {
  const host = options.host ?? '127.0.0.1';
  const keys = {
    accessKey: options.accessKey ?? SENS_SIMULATOR_DEFAULTS.accessKey,
    secretKey: options.secretKey ?? SENS_SIMULATOR_DEFAULTS.secretKey,
    serviceId: options.serviceId ?? SENS_SIMULATOR_DEFAULTS.serviceId,
  };
  const received: ReceivedSms[] = [];
  const log: SimulatedRequest[] = [];
  const arrivals = new EventEmitter();
  let failures = { remaining: 0, status: 500 };

  const handle = async (req: IncomingMessage): Promise<[number, object]> => {
    const path = req.url ?? '/';
    const route = SEND_PATH.exec(path.split('?')[0]!);
    if (!route || req.method !== 'POST') return gatewayError(404, '300', 'Not Found Exception');
    if (!authentic(req, path, keys)) return gatewayError(401, '200', 'Authentication Failed', 'Invalid authentication information.');
    const raw = await readRequestBody(req, MAX_BODY_BYTES);
    if (raw === undefined) return gatewayError(413, '430', 'Request Entity Too Large');
    if (failures.remaining > 0) {
      failures.remaining--;
      return simulatedFailure(failures.status);
    }
    if (decodeURIComponent(route[1]!) !== keys.serviceId) return sensError(404, 'Not Found', 'No SMS service has this id.');
    const parsed = parseSendRequest(raw);
    if (typeof parsed === 'string') return sensError(400, 'Bad Request', parsed);

    const requestId = `RSIM-${Date.now()}-${randomBytes(6).toString('hex')}`;
    for (const m of parsed.messages) {
      const sms: ReceivedSms = { requestId, type: parsed.type, contentType: parsed.contentType, countryCode: parsed.countryCode, from: parsed.from, to: m.to, content: m.content ?? parsed.content };
      received.push(sms);
      arrivals.emit('sms', sms);
      options.log?.info({ to: sms.to, type: sms.type, request_id: requestId, content: sms.content }, 'sms simulator: message received');
    }
    return [202, { requestId, requestTime: kstTimestamp(new Date()), statusCode: '202', statusName: 'success' }];
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    handle(req)
      .catch((): [number, object] => gatewayError(500, '900', 'Unexpected Error'))
      .then(([status, body]) => {
        log.push({ method: req.method ?? '', path: req.url ?? '', status });
        res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8' }).end(JSON.stringify(body));
      });
  });
  const { url, stop } = await listenSimulator(server, options.port, host);

  return {
    url,
    ...keys,
    messages: () => [...received],
    requests: () => [...log],
    waitFor(predicate, timeoutMs = 5_000) {
      const found = received.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const onSms = (sms: ReceivedSms) => {
          if (!predicate(sms)) return;
          clearTimeout(timer);
          arrivals.off('sms', onSms);
          resolve(sms);
        };
        const timer = setTimeout(() => {
          arrivals.off('sms', onSms);
          reject(new Error(`sms simulator: no matching message within ${timeoutMs} ms (${received.length} received)`));
        }, timeoutMs);
        arrivals.on('sms', onSms);
      });
    },
    failNext(count, status = 500) {
      failures = { remaining: count, status };
    },
    stop,
  };
}

/** The API Gateway's check: known access key, fresh timestamp, signature over method, path and both. */
function authentic(req: IncomingMessage, path: string, keys: { accessKey: string; secretKey: string }): boolean {
  const timestamp = req.headers['x-ncp-apigw-timestamp'];
  const accessKey = req.headers['x-ncp-iam-access-key'];
  const signature = req.headers['x-ncp-apigw-signature-v2'];
  if (typeof timestamp !== 'string' || typeof accessKey !== 'string' || typeof signature !== 'string') return false;
  if (!/^\d{13}$/.test(timestamp) || Math.abs(Date.now() - Number(timestamp)) > MAX_CLOCK_SKEW_MS) return false;
  if (accessKey !== keys.accessKey) return false;
  const expected = createHmac('sha256', keys.secretKey).update(`${req.method} ${path}\n${timestamp}\n${accessKey}`).digest();
  const given = Buffer.from(signature, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

interface SendRequest {
  type: ReceivedSms['type'];
  contentType: ReceivedSms['contentType'];
  countryCode: string;
  from: string;
  content: string;
  messages: { to: string; content?: string }[];
}

/** The documented request body rules; a string names the first one broken. */
function parseSendRequest(raw: Buffer): SendRequest | string {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  } catch {
    return 'The request body is not JSON.';
  }
  if (!body || typeof body !== 'object') return 'The request body must be an object.';
  const type = typeof body.type === 'string' ? body.type.toUpperCase() : undefined;
  if (type !== 'SMS' && type !== 'LMS' && type !== 'MMS') return 'type must be SMS, LMS or MMS.';
  const contentType = body.contentType ?? 'COMM';
  if (contentType !== 'COMM' && contentType !== 'AD') return 'contentType must be COMM or AD.';
  const countryCode = body.countryCode ?? '82';
  if (typeof countryCode !== 'string' || !/^\d{1,4}$/.test(countryCode)) return 'countryCode must be digits.';
  if (typeof body.from !== 'string' || !/^\d+$/.test(body.from)) return 'from is required and may only hold digits.';
  if (typeof body.content !== 'string') return 'content is required.';
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length < 1 || messages.length > 100) return 'messages must hold 1 to 100 entries.';
  for (const m of messages as { to?: unknown; content?: unknown }[]) {
    if (typeof m?.to !== 'string' || !/^\d+$/.test(m.to)) return 'messages[].to is required and may only hold digits.';
    if (m.content !== undefined && typeof m.content !== 'string') return 'messages[].content must be a string.';
  }
  return { type, contentType, countryCode, from: body.from, content: body.content, messages: messages as SendRequest['messages'] };
}

const gatewayError = (status: number, errorCode: string, message: string, details?: string): [number, object] => [
  status,
  { error: { errorCode, message, ...(details ? { details } : {}) } },
];

const sensError = (status: number, errors: string, errorMessage: string): [number, object] => [status, { status, errors, errorMessage }];

function simulatedFailure(status: number): [number, object] {
  if (status === 429) return gatewayError(429, '410', 'Throttle Limited');
  if (status === 503) return gatewayError(503, '500', 'Endpoint Error');
  if (status === 504) return gatewayError(504, '510', 'Endpoint Timeout');
  return sensError(status, 'Internal Server Error', 'Simulated failure.');
}

/** SENS's `requestTime`: Korean local time, `yyyy-MM-ddTHH:mm:ss.SSS`. */
const kstTimestamp = (at: Date) => new Date(at.getTime() + 9 * 3_600_000).toISOString().slice(0, 23);

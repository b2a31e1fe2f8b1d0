import type { SchemaOracle } from './schema-oracle';
import { documentedResponse, documents } from './spec';
import type { FuzzRequest, Reason } from './requests';

export interface FuzzResponse {
  url: string;
  requestId: string;
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown> | undefined;
}

const baseType = (ct: string | null) => (ct ?? '').split(';')[0]!.trim().toLowerCase();
/** Codes the platform gives a request it cannot read: a valid request must never get them. */
const UNREADABLE = new Set(['validation_failed', 'malformed_json', 'payload_too_large', 'unsupported_media_type', 'malformed_multipart', 'unexpected_field']);
/** Statuses that say "not you" or "not there": never right for the owner asking about what exists. */
const NOT_FOR_EXISTING = new Set([401, 403, 404]);
/** What a made-up id may get instead of its 404: a refusal of the content, whatever the id. */
const CONTENT_REFUSALS = new Set([400, 413, 415, 422]);
const sentConditional = (r: FuzzRequest) => Object.keys(r.headers).some((h) => /^if-/i.test(h));

/**
 * Everything wrong with one answer, given why the request was invalid (`reasons`; none for a
 * valid request). An empty list is a pass.
 */
export function checkResponse(oracle: SchemaOracle, r: FuzzRequest, res: FuzzResponse, reasons: Reason[]): string[] {
  const { op } = r;
  const s = res.status;
  if (s === 0) return [`no response: ${res.text}`];
  const problems: string[] = [];
  const code = typeof res.json?.code === 'string' ? res.json.code : '';
  // An Idempotency-Key seen before: the stored answer to the first request comes back, its request id included.
  const replayed = res.headers.get('idempotent-replayed') === 'true';
  if (s >= 500) problems.push(`a ${s}: the server failed`);
  // The fuzz app's request budget is out of reach (RateLimit: r= stays above 0); a 429 must be one
  // of the operation's own documented limits (attempts, bumps, identity verifications...).
  const remaining = /;\s*r=(\d+)/.exec(res.headers.get('ratelimit') ?? '')?.[1];
  if (s === 429 && (remaining === '0' || !op.codes.has(code))) problems.push(`a 429 ${code} (RateLimit: ${res.headers.get('ratelimit')}) although the request budget is out of reach`);
  if (!documents(op, s)) problems.push(`${s} is not documented for ${op.operationId} (documented: ${[...op.responses.keys()].join(', ')})`);
  if (s >= 400 && s < 500 && /^[a-z][a-z0-9_]*$/.test(code) && !op.codes.has(code)) problems.push(`problem code ${code} is not documented for ${op.operationId}`);
  if (res.headers.get('request-id') !== res.requestId) problems.push(`Request-Id is ${JSON.stringify(res.headers.get('request-id'))}, not the X-Request-Id sent`);

  // The answer matches what the description says about this status: media type and schema.
  const documented = documentedResponse(op, s);
  const type = baseType(res.headers.get('content-type'));
  if (s >= 400) {
    if (type !== 'application/problem+json') problems.push(`a ${s} as ${JSON.stringify(res.headers.get('content-type'))}, not application/problem+json`);
    const p = res.json;
    if (!p || typeof p !== 'object') problems.push('the problem body is not a JSON object');
    else {
      if (typeof p.type !== 'string' || !/^https?:\/\//.test(p.type)) problems.push('problem.type is not a URI');
      if (typeof p.title !== 'string' || !p.title) problems.push('problem.title is missing');
      if (p.status !== s) problems.push(`problem.status is ${JSON.stringify(p.status)}, not ${s}`);
      if (typeof p.code !== 'string' || !/^[a-z][a-z0-9_]*$/.test(p.code)) problems.push(`problem.code ${JSON.stringify(p.code)} is not a snake_case code`);
      if (p.request_id !== res.requestId && !replayed) problems.push(`problem.request_id is ${JSON.stringify(p.request_id)}, not the request's id`);
    }
  }
  if (documented && s !== 304 && s !== 204 && res.text !== '') {
    if (documented.size > 0 && !documented.has(type)) problems.push(`answered as ${JSON.stringify(type)}; documented: ${[...documented.keys()].join(', ')}`);
    const schema = documented.get(type);
    if (schema && /json$/.test(type)) {
      if (res.json === undefined) problems.push('the body is not JSON');
      else for (const e of oracle.errors(schema, res.json)) problems.push(`the body departs from the documented schema: ${e}`);
    }
  }

  // What the status must be, given the request.
  const content = reasons.filter((x) => x.kind === 'content');
  const auth = reasons.filter((x): x is Extract<Reason, { kind: 'auth' }> => x.kind === 'auth');
  if (content.length) {
    if (s < 400 || s >= 500) problems.push(`a ${s} for an invalid request (${content.map((x) => x.why).join('; ')}); expected a 4xx`);
  } else if (auth.length) {
    const expected = auth[0]!.status;
    // A missing role is found while processing, which an Idempotency-Key seen before precedes
    // (the parameter documents that only validation and authentication come first).
    const keyFirst = expected === 403 && (replayed || code === 'idempotency_key_reused' || code === 'idempotency_request_in_progress');
    if (s !== expected && !keyFirst) problems.push(`a ${s} where ${auth.map((x) => x.why).join('; ')} should give ${expected}`);
  } else if (!replayed) {
    if (s >= 400 && s < 500 && UNREADABLE.has(code)) problems.push(`the request is valid by the description, yet the server says ${s} ${code}: ${JSON.stringify(res.json?.errors ?? res.json?.detail)}`);
    if (r.pathIds === 'random' && documents(op, 404) && s !== 404 && !CONTENT_REFUSALS.has(s)) problems.push(`a ${s} for an id that does not exist; expected 404 (or a refusal of the content)`);
    // On what exists, asked by someone entitled to it (see FuzzRequest.entitled): done, or refused
    // by a documented rule of its state (a transition, a limit, a lock). Without a path id, or as
    // someone else, the outcome depends on credentials and state the request cannot show: only
    // "documented" is checked.
    if (r.pathIds === 'existing' && r.entitled !== false && !sentConditional(r) && (NOT_FOR_EXISTING.has(s) || s < 200 || (s >= 300 && s < 400))) {
      problems.push(`a ${s} for a valid, authorised request on something that exists; expected a 2xx or a documented refusal of its state`);
    }
  }
  return problems;
}

import { randomInt, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import jwt from 'jsonwebtoken';
import createClient, { type Middleware } from 'openapi-fetch';
import { expect } from 'vitest';
import type { paths } from '../../generated/api';

// Black-box scenarios: they know the API only by URL and tokens, so the same suite runs against
// the app itself, a deployment, or a validating proxy such as Prism (scripts/prism-conformance.sh).

function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (!value) throw new Error(`${name} is not set (see docs/qa.md)`);
  return value.replace(/\/+$/, '');
}

const baseUrl = env('E2E_BASE_URL');
const opsUrl = env('E2E_OPS_URL', /\/v1$/.test(baseUrl) ? baseUrl.replace(/\/v1$/, '') : undefined);

export const E2E = {
  /** The partner API (`.../v1`), for requests that follow the spec. */
  baseUrl,
  /** Where the operational routes live (health, metrics, docs, openapi.*, admin/queues). */
  opsUrl,
  /**
   * Where requests that deliberately break the spec go (bad parameters, missing token). A proxy
   * running with `--errors` answers those itself, so the conformance run points these at a proxy
   * that forwards them and still checks the app's answer against the spec.
   */
  invalidBaseUrl: env('E2E_INVALID_BASE_URL', baseUrl),
  /**
   * The API itself, bypassing any proxy, for the one kind of response a validating proxy cannot
   * pass through: Prism follows redirects upstream (stoplightio/prism#1977), so a 302 under test
   * must be fetched here and checked against the spec by the scenario.
   */
  directBaseUrl: env('E2E_DIRECT_BASE_URL', baseUrl),
  invalidOpsUrl: env('E2E_INVALID_OPS_URL', opsUrl),
  adminToken: env('E2E_ADMIN_TOKEN'),
  userToken: env('E2E_USER_TOKEN'),
  /** A category the suite may rename: never one of the shared reference tree. */
  categoryId: env('E2E_CATEGORY_ID'),
  /**
   * Optional: where the identity scenarios read mail and SMS and walk provider windows
   * (test/e2e/sandbox-server.ts). Without it those scenarios are skipped.
   */
  sandboxUrl: process.env.E2E_SANDBOX_URL?.replace(/\/+$/, ''),
  /**
   * Optional: a listing that may be bumped now (posted over 24 hours ago, which no API can make)
   * and its seller's token (`E2E_BUMPABLE_PRODUCT_ID`, `E2E_SELLER_TOKEN`). Without them the
   * successful bump is skipped.
   */
  bumpable:
    process.env.E2E_BUMPABLE_PRODUCT_ID && process.env.E2E_SELLER_TOKEN ? { productId: process.env.E2E_BUMPABLE_PRODUCT_ID, token: process.env.E2E_SELLER_TOKEN } : undefined,
};

/** Well-formed, signed with a key the API does not know. */
export const invalidToken = jwt.sign({ roles: ['admin'], sid: `ses_${randomUUID()}` }, `not-the-key-${randomUUID()}`, {
  subject: `usr_${randomUUID()}`,
  issuer: 'junggo',
  expiresIn: 600,
});

/** A client address of its own per request, so the per-address rate limit never trips a run. */
const uniqueIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

interface Violation {
  location: string[];
  severity: string;
  message: string;
}

/** What a validating proxy (Prism) found wrong, from its `sl-violations` header; the app never sends one. */
export function violationsOf(headers: Headers): Violation[] {
  const raw = headers.get('sl-violations');
  if (!raw) return [];
  try {
    return JSON.parse(raw) as Violation[];
  } catch {
    // Prism cuts a long list to 8 kB behind "Too many violations!": keep what reads.
    const messages = [...raw.matchAll(/"message":"([^"]*)"/g)].map((m) => m[1]!);
    return [{ location: ['response?'], severity: 'Error', message: `${messages.length}+ violations, e.g. ${messages.slice(0, 3).join('; ')}` }];
  }
}

/**
 * Throws, naming the request, when a response departs from the spec or the conventions that hold
 * for every response: a violation reported by the proxy (of the request too, unless the request is
 * broken on purpose), no `Request-Id`, or no rate-limit headers on a /v1 operation.
 */
export function assertConforms(method: string, url: string, status: number, headers: Headers, { v1 = false, invalidRequest = false } = {}): void {
  const problems = violationsOf(headers)
    .filter((v) => !invalidRequest || v.location[0] !== 'request')
    .map((v) => `spec violation (${v.severity}) at ${v.location.join('.')}: ${v.message}`)
    .slice(0, 5);
  if (!headers.get('request-id')) problems.push('no Request-Id header');
  if (v1 && (!headers.get('ratelimit-policy') || !headers.get('ratelimit'))) problems.push('no RateLimit-Policy/RateLimit headers');
  if (problems.length) throw new Error(`${method} ${url} -> ${status}:\n  ${problems.join('\n  ')}`);
}

const guard = (opts: { token?: string }, v1: boolean): Middleware => ({
  onRequest({ request }) {
    request.headers.set('X-Forwarded-For', uniqueIp());
    if (opts.token) request.headers.set('Authorization', `Bearer ${opts.token}`);
    return request;
  },
  onResponse({ request, response }) {
    assertConforms(request.method, request.url, response.status, response.headers, { v1 });
    return response;
  },
});

/** The partner API, typed by the generated paths: a drift between spec and suite fails to compile. */
export function api(opts: { token?: string } = {}) {
  const client = createClient<paths>({ baseUrl: E2E.baseUrl });
  client.use(guard(opts, true));
  return client;
}

/** The operational routes, typed the same way. */
export function ops(opts: { token?: string } = {}) {
  const client = createClient<paths>({ baseUrl: E2E.opsUrl });
  client.use(guard(opts, false));
  return client;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown> & { errors?: Array<Record<string, unknown>> };
}

/**
 * A request the typed client cannot (or should not) send: a parameter of the wrong type, an
 * unknown one, no token where one is required. Goes to the "invalid" URLs; the response must
 * still conform.
 */
export async function sendInvalid(target: 'api' | 'ops', path: string, init: RequestInit = {}): Promise<RawResponse> {
  const url = `${target === 'api' ? E2E.invalidBaseUrl : E2E.invalidOpsUrl}${path}`;
  const headers = new Headers(init.headers);
  headers.set('X-Forwarded-For', uniqueIp());
  const res = await fetch(url, { ...init, headers });
  const text = await res.text();
  assertConforms(init.method ?? 'GET', url, res.status, res.headers, { v1: target === 'api', invalidRequest: true });
  let body = {} as RawResponse['body'];
  try {
    body = JSON.parse(text) as RawResponse['body'];
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, text, body };
}

/** The RFC 9457 shape every error has, with the request id of its response. */
export function expectProblem(res: { status: number; headers: Headers; body: unknown }, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code, title: expect.any(String), type: expect.stringMatching(/^https:\/\//) });
  expect((res.body as { request_id?: string }).request_id).toBe(res.headers.get('request-id'));
}

/** An openapi-fetch result in the shape `expectProblem` takes. */
export const outcome = (res: { response: Response; data?: unknown; error?: unknown }) => ({
  status: res.response.status,
  headers: res.response.headers,
  body: res.error ?? res.data,
});

// ---------------------------------------------------------------------------------------------
// For the few responses that cannot go through Prism (see docs/qa.md), the scenario checks them
// against the description itself, as Prism would: a documented status, its media type, its JSON
// schema, and the headers the description requires (present, matching their schema).
// ---------------------------------------------------------------------------------------------

type Doc = { paths: Record<string, Record<string, { responses?: Record<string, Record<string, unknown>> }>>; components: Record<string, Record<string, Record<string, unknown>>> };
let spec: { doc: Doc; ajv: Ajv2020 } | undefined;
const loadSpec = () => {
  if (!spec) {
    const doc = JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'generated', 'openapi.json'), 'utf8')) as Doc;
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema(doc as object, 'spec.json');
    spec = { doc, ajv };
  }
  return spec;
};
const resolve = <T>(node: unknown): T => {
  let n = node as { $ref?: string };
  while (n && typeof n.$ref === 'string') n = n.$ref.slice(2).split('/').reduce<unknown>((at, k) => (at as Record<string, unknown>)[k], loadSpec().doc) as { $ref?: string };
  return n as T;
};
const anchored = (node: unknown): unknown =>
  Array.isArray(node)
    ? node.map(anchored)
    : node && typeof node === 'object'
      ? Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `spec.json${v}` : anchored(v)]))
      : node;
const validators = new Map<string, ValidateFunction>();

/** Throws, naming every departure, unless the response is one the description documents for the operation. */
export function assertDocumented(method: string, template: string, res: { status: number; headers: Headers; body: unknown }): void {
  const op = loadSpec().doc.paths[template]?.[method.toLowerCase()];
  if (!op) throw new Error(`the description has no ${method} ${template}`);
  const response = resolve<{ content?: Record<string, { schema?: unknown }>; headers?: Record<string, unknown> }>(op.responses?.[String(res.status)] ?? op.responses?.default);
  const problems: string[] = [];
  if (!response) problems.push(`status ${res.status} is not documented`);
  else {
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const media = response.content?.[type];
    if (response.content && !media) problems.push(`media type ${type} is not documented for ${res.status}`);
    if (media?.schema) {
      const key = `${method} ${template} ${res.status} ${type}`;
      let validate = validators.get(key);
      if (!validate) validators.set(key, (validate = loadSpec().ajv.compile(anchored(media.schema) as object)));
      if (!validate(res.body)) problems.push(...(validate.errors ?? []).slice(0, 5).map((e) => `body${e.instancePath} ${e.message}`));
    }
    for (const [name, raw] of Object.entries(response.headers ?? {})) {
      const header = resolve<{ required?: boolean; schema?: { pattern?: string } }>(raw);
      const value = res.headers.get(name);
      if (value === null) {
        if (header.required) problems.push(`required header ${name} is missing`);
      } else if (header.schema?.pattern && !new RegExp(header.schema.pattern, 'u').test(value)) problems.push(`header ${name}: ${value} does not match ${header.schema.pattern}`);
    }
  }
  if (!res.headers.get('request-id')) problems.push('no Request-Id header');
  if (problems.length) throw new Error(`${method} ${template} -> ${res.status} departs from the description:\n  ${problems.join('\n  ')}`);
}

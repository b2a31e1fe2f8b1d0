import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The operations of the bundled description, as the fuzzer needs them. Everything is read from
 * generated/openapi.json at test time: nothing here names an endpoint.
 */

export type Schema = Record<string, unknown>;
export type OpenApiDoc = Record<string, unknown> & { paths: Record<string, Record<string, unknown>>; servers?: { url: string }[]; security?: SecurityRequirement[] };
type SecurityRequirement = Record<string, string[]>;

export interface FuzzParameter {
  name: string;
  in: 'query' | 'path' | 'header';
  required: boolean;
  schema: Schema;
}

export interface FuzzOperation {
  operationId: string;
  method: string;
  /** The path template, e.g. `/products/categories/{category_id}`. */
  template: string;
  /** '' for operations served at the root (`servers: [{url: /}]`), '/v1' for the API. */
  base: string;
  parameters: FuzzParameter[];
  body: FuzzBody | null;
  /** Documented response keys ('200', '4XX', 'default') with their media types and schemas. */
  responses: Map<string, Map<string, Schema | undefined>>;
  /** Needs a bearer token (no anonymous alternative). */
  secured: boolean;
  /** Takes a bearer token at all (secured, or optional with an anonymous alternative). */
  acceptsBearer: boolean;
  /** Roles a token needs (scopes of the requirement, or roles the description names). */
  roles: string[];
  /**
   * Problem codes the description documents for this operation: every `snake_case` word in
   * backticks in its description and in the descriptions (and example problems) of its responses.
   */
  codes: Set<string>;
  /** Changes state: only ever aimed at the fuzzer's own resources. */
  write: boolean;
  weight: number;
}

/**
 * A request body: JSON (`application/json` or a `+json` type) or a form of parts
 * (`multipart/form-data`, with the per-part Content-Types of its `encoding`).
 */
export interface FuzzBody {
  kind: 'json' | 'multipart';
  required: boolean;
  mediaTypes: string[];
  schema: Schema;
  /** multipart only: property name → the Content-Types the description allows for its parts. */
  partTypes: Record<string, string[]>;
}

export interface FuzzSpec {
  doc: OpenApiDoc;
  operations: FuzzOperation[];
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const SAFE_METHODS = new Set(['get', 'head', 'options']);

export function loadFuzzSpec(file = path.resolve(__dirname, '..', '..', 'generated', 'openapi.json')): FuzzSpec {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as OpenApiDoc;
  return { doc, operations: listFuzzOperations(doc) };
}

/** Follows local `$ref`s (`#/components/...`) until a concrete object is reached. */
export function deref<T = Schema>(doc: OpenApiDoc, node: unknown, seen: string[] = []): T {
  let current = node as Record<string, unknown>;
  while (current && typeof current.$ref === 'string') {
    const ref = current.$ref;
    if (!ref.startsWith('#/')) throw new Error(`fuzz: only local $refs are supported, got ${ref}`);
    if (seen.includes(ref)) throw new Error(`fuzz: $ref cycle at ${ref}`);
    seen.push(ref);
    current = ref
      .slice(2)
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], doc) as Record<string, unknown>;
    if (current === undefined) throw new Error(`fuzz: unresolved $ref ${ref}`);
  }
  return current as T;
}

function basePath(servers: { url: string }[] | undefined, fallback: string): string {
  const url = servers?.[0]?.url;
  if (url === undefined) return fallback;
  const pathname = /^[a-z]+:\/\//i.test(url) ? new URL(url).pathname : url;
  return pathname.replace(/\/+$/, '');
}

const bearerSchemes = (doc: OpenApiDoc): Set<string> => {
  const schemes = ((doc.components as Record<string, unknown> | undefined)?.securitySchemes ?? {}) as Record<string, { type?: string; scheme?: string }>;
  return new Set(Object.entries(schemes).filter(([, s]) => s.type === 'http' && s.scheme?.toLowerCase() === 'bearer').map(([name]) => name));
};

/** Roles named in prose, e.g. "**Admins only** (role `admin`)" or "a token with the `admin` role". */
const ROLE_IN_PROSE = /role `([a-z][a-z0-9_]*)`|`([a-z][a-z0-9_]*)` role/g;
/** A problem code in prose: `image_too_large`, or with its status, `413 image_too_large`. */
const CODE_IN_PROSE = /`(?:[1-5]\d\d\s+)?([a-z][a-z0-9]*(?:_[a-z0-9]+)*)`/g;

export function listFuzzOperations(doc: OpenApiDoc): FuzzOperation[] {
  const bearer = bearerSchemes(doc);
  const rootBase = basePath(doc.servers, '');
  const ops: FuzzOperation[] = [];
  for (const [template, rawItem] of Object.entries(doc.paths)) {
    const item = deref<Record<string, unknown>>(doc, rawItem);
    const itemBase = basePath(item.servers as { url: string }[] | undefined, rootBase);
    for (const method of METHODS) {
      const op = item[method] as Record<string, unknown> | undefined;
      if (!op) continue;
      const operationId = String(op.operationId ?? `${method} ${template}`);
      const byKey = new Map<string, FuzzParameter>();
      for (const raw of [...((item.parameters as unknown[]) ?? []), ...((op.parameters as unknown[]) ?? [])]) {
        const p = deref<Record<string, unknown>>(doc, raw);
        if (p.in === 'cookie') throw new Error(`fuzz: ${operationId} has a cookie parameter; teach test/fuzz how to send one`);
        if (p.content) throw new Error(`fuzz: ${operationId} parameter ${String(p.name)} uses 'content'; only 'schema' parameters are supported`);
        byKey.set(`${String(p.in)}:${String(p.name)}`, {
          name: String(p.name),
          in: p.in as FuzzParameter['in'],
          required: p.in === 'path' || p.required === true,
          schema: deref(doc, p.schema ?? {}),
        });
      }
      let body: FuzzOperation['body'] = null;
      if (op.requestBody) {
        const rb = deref<Record<string, unknown>>(doc, op.requestBody);
        const content = (rb.content ?? {}) as Record<string, { schema?: Schema }>;
        const mediaTypes = Object.keys(content);
        const json = mediaTypes.find((m) => /^application\/([a-z0-9.+-]*\+)?json$/i.test(m));
        const form = mediaTypes.find((m) => m.toLowerCase() === 'multipart/form-data');
        if (json && form) throw new Error(`fuzz: ${operationId} takes both JSON and multipart bodies; teach test/fuzz to choose`);
        if (!json && !form) throw new Error(`fuzz: ${operationId} takes only ${mediaTypes.join(', ')}; only JSON and multipart/form-data bodies are supported`);
        const media = (content[(json ?? form)!] ?? {}) as { schema?: Schema; encoding?: Record<string, { contentType?: string }> };
        const partTypes = Object.fromEntries(
          Object.entries(media.encoding ?? {}).map(([name, e]) => [name, (e.contentType ?? '').split(',').map((t) => t.trim().toLowerCase()).filter(Boolean)]),
        );
        body = { kind: json ? 'json' : 'multipart', required: rb.required === true, mediaTypes: mediaTypes.map((m) => m.toLowerCase()), schema: media.schema ?? {}, partTypes };
      }
      const responses = new Map<string, Map<string, Schema | undefined>>();
      const codes = new Set<string>();
      const addCodes = (text: unknown) => {
        for (const m of String(text ?? '').matchAll(CODE_IN_PROSE)) codes.add(m[1]!);
      };
      addCodes(op.description);
      // A shared parameter may document what it does to the answer (Idempotency-Key: `idempotency_key_reused`).
      for (const raw of [...((item.parameters as unknown[]) ?? []), ...((op.parameters as unknown[]) ?? [])]) addCodes(deref<Record<string, unknown>>(doc, raw).description);
      for (const [status, rawResponse] of Object.entries((op.responses ?? {}) as Record<string, unknown>)) {
        const response = deref<Record<string, unknown>>(doc, rawResponse);
        // A response that refers to a shared one may describe itself: both texts count.
        addCodes((rawResponse as Record<string, unknown>).description);
        addCodes(response.description);
        for (const m of Object.values((response.content ?? {}) as Record<string, { example?: { code?: unknown }; examples?: Record<string, { value?: { code?: unknown } }> }>)) {
          addCodes(`\`${String(m.example?.code ?? '')}\``);
          for (const e of Object.values(m.examples ?? {})) addCodes(`\`${String(e.value?.code ?? '')}\``);
        }
        const media = new Map<string, Schema | undefined>();
        for (const [type, m] of Object.entries((response.content ?? {}) as Record<string, { schema?: Schema }>)) media.set(type.toLowerCase(), m.schema);
        responses.set(status.toUpperCase(), media);
      }
      const security = ((op.security ?? item.security ?? doc.security ?? []) as SecurityRequirement[]).filter((r) => r !== null);
      const usesBearer = (r: SecurityRequirement) => Object.keys(r).some((name) => bearer.has(name));
      for (const r of security) {
        const unknown = Object.keys(r).filter((name) => !bearer.has(name));
        if (unknown.length) throw new Error(`fuzz: ${operationId} uses security scheme(s) ${unknown.join(', ')}; only bearer tokens are supported`);
      }
      const secured = security.length > 0 && security.every((r) => Object.keys(r).length > 0);
      const roles = new Set<string>();
      for (const r of security) for (const name of Object.keys(r)) for (const scope of r[name] ?? []) roles.add(scope);
      if (security.some(usesBearer)) for (const m of String(op.description ?? '').matchAll(ROLE_IN_PROSE)) roles.add((m[1] ?? m[2])!);
      const parameters = [...byKey.values()];
      ops.push({
        operationId,
        method,
        template,
        base: basePath(op.servers as { url: string }[] | undefined, itemBase),
        parameters,
        body,
        responses,
        secured,
        acceptsBearer: security.some(usesBearer),
        roles: [...roles].sort(),
        codes,
        write: !SAFE_METHODS.has(method),
        // More inputs, more requests: a run spends its budget where there is something to vary.
        // A file upload is accepted only when token, listing and file are all right at once (about
        // one valid request in twelve): it gets twice the tries, so that a run sees it succeed.
        weight: (1 + parameters.length + (body ? 3 : 0) + (security.some(usesBearer) ? 1 : 0)) * (body?.kind === 'multipart' ? 2 : 1),
      });
    }
  }
  return ops;
}

/** Whether the description documents this status for the operation (exact, `4XX` range or `default`). */
export function documents(op: FuzzOperation, status: number): boolean {
  return op.responses.has(String(status)) || op.responses.has(`${String(status)[0]}XX`) || op.responses.has('DEFAULT');
}

/** The documented response for a status: its media types and schemas. */
export function documentedResponse(op: FuzzOperation, status: number): Map<string, Schema | undefined> | undefined {
  return op.responses.get(String(status)) ?? op.responses.get(`${String(status)[0]}XX`) ?? op.responses.get('DEFAULT');
}

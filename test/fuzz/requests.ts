import fc from 'fast-check';
import { describeForm, formArb, formBytes, formContentType, formMutations, formProblems, type Form, type SampleFile } from './multipart';
import type { SchemaOracle } from './schema-oracle';
import { deref, documents, type FuzzOperation, type FuzzParameter, type OpenApiDoc, type Schema } from './spec';
import {
  RawJson,
  deepNesting,
  fits,
  hugeArray,
  invalidJsonCandidates,
  invalidParameterCandidates,
  oddString,
  preview,
  standIn,
  toJsonText,
  validValue,
} from './values';

/** Bytes already percent-encoded (malformed UTF-8, WTF-8 surrogates), sent as they are. */
export class Encoded {
  constructor(
    readonly text: string,
    /** What the server decodes them to (invalid sequences become U+FFFD). */
    readonly decoded: string,
  ) {}
  toString() {
    return this.text;
  }
}
export type UrlValue = string | Encoded;

export type BadToken = 'expired' | 'wrong-key' | 'alg-none' | 'tampered' | 'wrong-issuer' | 'no-scheme' | 'basic' | 'empty' | 'garbage';
/** A token's user: one of the fuzzer's real accounts, or (when there are none) an id of its own per request. */
export type Auth = { kind: 'none' } | { kind: 'token'; roles: string[]; user?: string } | { kind: 'bad'; how: BadToken; garbage: string };

export interface BodyPart {
  /** The body as a value (serialised with toJsonText), or as raw text when `text` is set, or a multipart form. */
  value?: unknown;
  text?: string;
  form?: Form;
  contentType?: string;
  contentEncoding?: string;
  omitted?: boolean;
}

export interface FuzzRequest {
  op: FuzzOperation;
  /** What the generator did to make it invalid (empty for valid requests); for reports only. */
  mutations: string[];
  path: Record<string, UrlValue>;
  /** Whether path ids name things that exist ('existing'), were made up ('random'), or there are none. */
  pathIds: 'existing' | 'random' | 'none';
  query: [UrlValue, UrlValue][];
  headers: Record<string, string>;
  auth: Auth;
  /**
   * Whether the token is the owner's of the fuzzer's own resource named in the path (undefined
   * when the path names none of them, or no token is sent).
   */
  owner?: boolean;
  /**
   * Whether the caller may act on what the existing path ids name, so that anything but a 2xx
   * (or a documented refusal of its state) is a finding: the owner on an owned resource, anyone
   * on the fuzzer's unowned ones (its category), anyone on a public operation. Someone else's
   * resource behind a token (a seller's photo list) is not: its owner is not known.
   */
  entitled?: boolean;
  /** How the token's user was picked (see actAs): kept so that a mutated request picks again. */
  who?: { pick: number; asOwner: boolean };
  body: BodyPart | undefined;
}

export interface RequestPools {
  /** Ids that exist (read from the API); write operations get only `ownIds`. */
  knownIds: string[];
  ownIds: string[];
  etags: string[];
  /**
   * The fuzzer's own accounts, which tokens name (none: an id per request that no account has),
   * with their roles in the database: a token claiming a role is given an account that has it.
   */
  users?: { id: string; roles: string[] }[];
  /** Own id → the account that owns it: writes on it are sent as that account (or, to be refused, as another). */
  owners?: Record<string, string>;
  /**
   * Own ids that only one operation writes to (operationId → ids), e.g. listings that a status
   * change or a delete may use up; other writes never aim at them.
   */
  exclusive?: Record<string, string[]>;
}

// ---------------------------------------------------------------------------------------------
// Percent-encoding that can also write what encodeURIComponent refuses (lone surrogates, as the
// WTF-8 bytes a sloppy client would send).
// ---------------------------------------------------------------------------------------------

function pctEncode(value: UrlValue): string {
  if (value instanceof Encoded) return value.text;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    let cpValue = c;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length) {
      const d = value.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        cpValue = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    const ch = String.fromCodePoint(cpValue);
    if (/^[A-Za-z0-9\-_~]$/.test(ch)) out += ch;
    else if (cpValue >= 0xd800 && cpValue <= 0xdfff) out += `%${(0xe0 | (cpValue >> 12)).toString(16)}%${(0x80 | ((cpValue >> 6) & 0x3f)).toString(16)}%${(0x80 | (cpValue & 0x3f)).toString(16)}`.toUpperCase();
    else out += [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
  return out;
}
const decodedOf = (v: UrlValue) => (v instanceof Encoded ? v.decoded : v);

/** Malformed percent-encodings and encoded lone surrogates, with what a lenient decoder makes of them. */
const rawEncodings = fc
  .constantFrom('%FF', '%C0%80', '%ED%A0%80', '%ED%BF%BF', '%E0%A4%A', '%', '%G1', '%00', '%F0%9F%98', 'a%2', '%EF%BB%BF')
  .map((text) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(text);
    } catch {
      decoded = Buffer.from(text.replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
    }
    return new Encoded(text, decoded);
  });

export function urlOf(baseUrl: string, r: FuzzRequest): string {
  const path = r.op.template.replace(/\{([^}]+)\}/g, (_m, name: string) => pctEncode(r.path[name] ?? ''));
  const query = r.query.map(([k, v]) => `${pctEncode(k)}=${pctEncode(v)}`).join('&');
  return `${baseUrl}${r.op.base}${path}${query ? `?${query}` : ''}`;
}

/** A dot segment or an empty segment would make the URL name another route, not a bad id. */
const pathSafe = (v: UrlValue) => {
  const s = v instanceof Encoded ? v.text : v;
  return s !== '' && !/^(\.|%2e){1,2}$/i.test(s);
};

export function bodyText(body: BodyPart): string | undefined {
  if (body.omitted) return undefined;
  if (body.form) return formBytes(body.form).toString('latin1');
  return body.text ?? toJsonText(body.value);
}

/** The bytes sent as the body. */
export function bodyBytes(body: BodyPart): Buffer | undefined {
  if (body.omitted) return undefined;
  if (body.form) return formBytes(body.form);
  return Buffer.from(body.text ?? toJsonText(body.value), 'utf8');
}

/** How the request reads in a failure report. */
export function describeRequest(r: FuzzRequest, url = urlOf('', r)): string {
  const who = r.auth.kind === 'token' ? ` user=${r.auth.user ?? '(none)'}${r.owner === undefined ? '' : r.owner ? ' (the owner)' : ' (not the owner)'}` : '';
  const auth = r.auth.kind === 'none' ? 'no token' : r.auth.kind === 'token' ? `token roles=[${r.auth.roles.join(',')}]${who}` : `bad token (${r.auth.how})`;
  const headers = Object.entries(r.headers).map(([k, v]) => `${k}: ${preview(v, 80)}`);
  const body = r.body ? (r.body.omitted ? 'no body' : r.body.form ? describeForm(r.body.form) : `body ${preview(bodyText(r.body)!, 300)}`) : '';
  const media = r.body && !r.body.omitted ? `content-type: ${r.body.contentType ?? '(none)'}${r.body.contentEncoding ? `, content-encoding: ${r.body.contentEncoding}` : ''}` : '';
  return [`${r.op.method.toUpperCase()} ${preview(url, 400)}`, auth, ...headers, media, body, r.mutations.length ? `mutations: ${r.mutations.join('; ')}` : '']
    .filter(Boolean)
    .join(' | ');
}

/** Gives a request a readable form in fast-check's counterexample report. */
function printable(r: FuzzRequest): FuzzRequest {
  return Object.defineProperty(r, fc.toStringMethod, { value: () => describeRequest(r), enumerable: false });
}

// ---------------------------------------------------------------------------------------------
// The judge: why a request is invalid according to the description (none: it is valid).
// Generators propose, the judge decides, so "valid" and "invalid" never depend on the generators
// being right.
// ---------------------------------------------------------------------------------------------

export type Reason = { kind: 'auth'; status: 401 | 403; why: string } | { kind: 'content'; why: string };

const baseMediaType = (ct: string) => ct.split(';')[0]!.trim().toLowerCase();
const charsetOf = (ct: string) => /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(ct)?.[1]?.toLowerCase();

export function judge(r: FuzzRequest, oracle: SchemaOracle): Reason[] {
  const reasons: Reason[] = [];
  const { op } = r;
  const params = (where: FuzzParameter['in']) => op.parameters.filter((p) => p.in === where);
  for (const p of params('path')) {
    if (!oracle.parameter(p.schema, decodedOf(r.path[p.name] ?? ''), true)) reasons.push({ kind: 'content', why: `path ${p.name} is not valid` });
  }
  const declared = new Map(params('query').map((p) => [p.name, p]));
  const values = new Map<string, string[]>();
  for (const [k, v] of r.query) values.set(decodedOf(k), [...(values.get(decodedOf(k)) ?? []), decodedOf(v)]);
  for (const name of values.keys()) if (!declared.has(name)) reasons.push({ kind: 'content', why: `unknown query parameter ${JSON.stringify(name)}` });
  for (const p of declared.values()) {
    const vs = values.get(p.name);
    const value = vs === undefined ? undefined : vs.length === 1 && typesOfSchema(p.schema) !== 'array' ? vs[0] : vs;
    if (!oracle.parameter(p.schema, value, p.required)) reasons.push({ kind: 'content', why: `query ${p.name} is not valid` });
  }
  for (const p of params('header')) {
    const entry = Object.entries(r.headers).find(([k]) => k.toLowerCase() === p.name.toLowerCase());
    if (!oracle.parameter(p.schema, entry?.[1], p.required)) reasons.push({ kind: 'content', why: `header ${p.name} is not valid` });
  }
  if (op.body) {
    const b = r.body;
    if (!b || b.omitted) {
      if (op.body.required) reasons.push({ kind: 'content', why: 'the required body is missing' });
    } else {
      const ct = b.contentType;
      if (!ct || !op.body.mediaTypes.includes(baseMediaType(ct))) reasons.push({ kind: 'content', why: `content type ${JSON.stringify(ct ?? null)} is not documented` });
      else if (op.body.kind === 'json' && charsetOf(ct) !== undefined && charsetOf(ct) !== 'utf-8') reasons.push({ kind: 'content', why: `JSON in charset ${charsetOf(ct)}` });
      if (b.contentEncoding !== undefined && b.contentEncoding.toLowerCase() !== 'identity') reasons.push({ kind: 'content', why: `body claims content-encoding ${b.contentEncoding} but is not encoded` });
      if (op.body.kind === 'multipart') {
        if (!b.form) reasons.push({ kind: 'content', why: 'the body is not a multipart form' });
        else if (ct) for (const why of formProblems(oracle.doc, op, ct, b.form)) reasons.push({ kind: 'content', why });
      }
      let value: unknown;
      let parsed = op.body.kind === 'json';
      if (!parsed) {
        /* a form: judged above */
      } else if (b.form) {
        parsed = false;
        reasons.push({ kind: 'content', why: 'a multipart form where JSON is expected' });
      } else if (b.text !== undefined) {
        try {
          value = JSON.parse(b.text);
        } catch {
          parsed = false;
          reasons.push({ kind: 'content', why: 'the body is not JSON' });
        }
      } else value = standIn(b.value);
      if (parsed && !oracle.body(op.body.schema, value)) reasons.push({ kind: 'content', why: 'the body does not match its schema' });
    }
  }
  const auth = r.auth;
  // Also where the token is optional and only documented as refused when bad (a `401`).
  if (auth.kind === 'bad' && (op.acceptsBearer || documents(op, 401))) reasons.push({ kind: 'auth', status: 401, why: `bad token (${auth.how})` });
  if (op.secured && auth.kind === 'none') reasons.push({ kind: 'auth', status: 401, why: 'no token' });
  if (op.secured && auth.kind === 'token' && !op.roles.every((role) => auth.roles.includes(role))) reasons.push({ kind: 'auth', status: 403, why: `token lacks role(s) ${op.roles.join(', ')}` });
  return reasons;
}

const typesOfSchema = (s: Schema) => (Array.isArray(s.type) ? (s.type.includes('array') ? 'array' : 'other') : s.type === 'array' ? 'array' : 'other');

// ---------------------------------------------------------------------------------------------
// Valid requests.
// ---------------------------------------------------------------------------------------------

export interface GeneratorContext {
  doc: OpenApiDoc;
  oracle: SchemaOracle;
  pools: RequestPools;
  /** Files for multipart bodies: real images, and a decompression bomb. */
  files?: { samples: SampleFile[]; bomb: Buffer };
}

const OTHER_ROLES = ['user', 'seller', 'moderator', 'support', 'admin'];

function authArb(op: FuzzOperation, mode: 'valid' | 'authorized'): fc.Arbitrary<Auth> {
  const authorized: fc.Arbitrary<Auth> = op.roles.length
    ? fc.subarray(OTHER_ROLES.filter((r) => !op.roles.includes(r))).map((extra) => ({ kind: 'token' as const, roles: [...op.roles, ...extra] }))
    : fc.subarray(OTHER_ROLES).map((roles) => ({ kind: 'token' as const, roles }));
  if (mode === 'authorized') return op.secured ? authorized : fc.oneof(fc.constant<Auth>({ kind: 'none' }), authorized);
  return fc.oneof(
    { arbitrary: authorized, weight: 6 },
    { arbitrary: fc.constant<Auth>({ kind: 'none' }), weight: 2 },
    { arbitrary: badTokenArb, weight: 1 },
    { arbitrary: fc.subarray(OTHER_ROLES.filter((r) => !op.roles.includes(r))).map((roles): Auth => ({ kind: 'token', roles })), weight: op.roles.length ? 2 : 0 },
  );
}

export const badTokenArb: fc.Arbitrary<Auth> = fc.record({
  kind: fc.constant('bad' as const),
  how: fc.constantFrom<BadToken>('expired', 'wrong-key', 'alg-none', 'tampered', 'wrong-issuer', 'no-scheme', 'basic', 'empty', 'garbage'),
  garbage: oddString('header', 1, 60),
});

/** The own ids a write operation may aim at: its exclusive ones, or the shared ones. */
export function ownIdsFor(pools: RequestPools, op: FuzzOperation): string[] {
  const exclusive = pools.exclusive ?? {};
  const mine = exclusive[op.operationId];
  if (mine) return mine;
  const reserved = new Set(Object.values(exclusive).flat());
  return pools.ownIds.filter((id) => !reserved.has(id));
}

function pathArb(ctx: GeneratorContext, op: FuzzOperation): fc.Arbitrary<{ path: Record<string, UrlValue>; pathIds: FuzzRequest['pathIds'] }> {
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  if (!pathParams.length) return fc.constant({ path: {}, pathIds: 'none' as const });
  const known = new Set(ctx.pools.knownIds);
  const own = ownIdsFor(ctx.pools, op);
  const perParam = pathParams.map((p) => {
    const pool = (op.write ? own : ctx.pools.knownIds).filter((id) => ctx.oracle.parameter(p.schema, id, true)).sort();
    const made = validValue(p.schema, { doc: ctx.doc, where: 'url' })
      .map(String)
      .filter((v) => !known.has(v) && pathSafe(v))
      .map((v) => ({ value: v as UrlValue, existing: false }));
    const existing = pool.length ? fc.constantFrom(...pool).map((v) => ({ value: v as UrlValue, existing: true })) : null;
    return existing ? fc.oneof({ arbitrary: existing, weight: 3 }, { arbitrary: made, weight: 1 }) : made;
  });
  return fc.tuple(...perParam).map((values) => ({
    path: Object.fromEntries(pathParams.map((p, i) => [p.name, values[i]!.value])),
    pathIds: values.every((v) => v.existing) ? ('existing' as const) : ('random' as const),
  }));
}

const toParamStrings = (v: unknown): string[] => (Array.isArray(v) ? v.map((x) => String(x)) : [String(v)]);

function queryArb(ctx: GeneratorContext, op: FuzzOperation): fc.Arbitrary<[UrlValue, UrlValue][]> {
  const qs = op.parameters.filter((p) => p.in === 'query');
  const perParam = qs.map((p) => {
    const value = validValue(p.schema, { doc: ctx.doc, where: 'url' }).map((v) => toParamStrings(v).map((s): [UrlValue, UrlValue] => [p.name, s]));
    return p.required ? value : fc.option(value, { nil: undefined, freq: 2 });
  });
  return fc.tuple(...perParam).map((pairs) => pairs.flatMap((x) => x ?? []));
}

/** Conditional request headers (RFC 9110 `If-*`) also get ETags the API really served, and `*`. */
const isConditional = (name: string) => /^if-/i.test(name);

function headersArb(ctx: GeneratorContext, op: FuzzOperation): fc.Arbitrary<Record<string, string>> {
  const hs = op.parameters.filter((p) => p.in === 'header');
  const perParam = hs.map((p) => {
    let value = validValue(p.schema, { doc: ctx.doc, where: 'header' }).map(String);
    // A key is meant to be new per request (RFC draft): mostly fresh UUIDs, now and then one
    // from the schema (short ones repeat, and show replays and reuse).
    if (/^idempotency-key$/i.test(p.name)) value = fc.oneof({ arbitrary: fc.noBias(fc.uuid()), weight: 9 }, { arbitrary: value, weight: 1 });
    if (isConditional(p.name)) {
      const real = [...ctx.pools.etags, '*'].filter((e) => ctx.oracle.parameter(p.schema, e, true));
      if (real.length) value = fc.oneof(value, fc.constantFrom(...real), fc.constantFrom(...real).map((e) => (e === '*' ? e : `W/${e}`)));
    }
    value = value.filter((v) => fits('header', v));
    return p.required ? value : fc.option(value, { nil: undefined, freq: 2 });
  });
  return fc.tuple(...perParam).map((values) => Object.fromEntries(hs.flatMap((p, i) => (values[i] === undefined ? [] : [[p.name, values[i]!]]))));
}

function jsonContentTypes(op: FuzzOperation): fc.Arbitrary<string> {
  const types = op.body!.mediaTypes.filter((m) => /json$/.test(m));
  return fc.constantFrom(...types).chain((t) => fc.constantFrom(t, `${t}; charset=utf-8`, `${t};charset=UTF-8`));
}

const fallbackFiles = { samples: [] as SampleFile[], bomb: Buffer.alloc(0) };

function bodyArb(ctx: GeneratorContext, op: FuzzOperation): fc.Arbitrary<BodyPart | undefined> {
  if (!op.body) return fc.constant(undefined);
  if (op.body.kind === 'multipart') {
    const { samples, bomb } = ctx.files ?? fallbackFiles;
    const form = formArb(ctx.doc, op, samples, bomb).chain((f) => formContentType(f.boundary).map((contentType): BodyPart => ({ form: f, contentType })));
    return op.body.required ? form : fc.option(form, { nil: undefined, freq: 3 });
  }
  const schema = op.body.schema;
  // Not filtered here: the judge of the whole request throws out the rare body the schema rejects.
  const value = validValue(schema, { doc: ctx.doc, where: 'json', ids: ctx.pools.knownIds });
  const body = fc.record({ value, contentType: jsonContentTypes(op) }).map((b): BodyPart => b);
  return op.body.required ? body : fc.option(body, { nil: undefined, freq: 3 });
}

/** Valid requests before the judge has thrown out the few that are not (see `acceptance`). */
export function validRequestCandidates(ctx: GeneratorContext, op: FuzzOperation, auth: 'valid' | 'authorized' = 'valid'): fc.Arbitrary<FuzzRequest> {
  // Who the token names: on the fuzzer's own resources mostly their owner, sometimes another account.
  const who = fc.record({ pick: fc.nat(), asOwner: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }) });
  return fc
    .record({ where: pathArb(ctx, op), query: queryArb(ctx, op), headers: headersArb(ctx, op), body: bodyArb(ctx, op), auth: authArb(op, auth), who })
    .map(({ where, who: { pick, asOwner }, auth: a, ...rest }): FuzzRequest => {
      const r: FuzzRequest = { op, mutations: [], ...where, ...rest, auth: a, who: { pick, asOwner } };
      return actAs(ctx.pools, r, pick, asOwner);
    });
}

/**
 * Names the token's user: the owner of an own id in the path, or another of the fuzzer's accounts
 * whose staff roles (those any of them holds beyond `user`) are the ones the token claims.
 */
export function actAs(pools: RequestPools, r: FuzzRequest, pick: number, asOwner: boolean): FuzzRequest {
  const ids = Object.values(r.path).map(String);
  const owned = r.pathIds === 'existing' ? ids.map((v) => pools.owners?.[v]).find((u) => u !== undefined) : undefined;
  let user: string | undefined;
  if (r.auth.kind === 'token') {
    // The API issues tokens with the account's roles: a token claims exactly its account's staff roles.
    const users = pools.users ?? [];
    const staff = new Set(users.flatMap((u) => u.roles).filter((x) => x !== 'user'));
    const staffOf = (roles: string[]) => [...new Set(roles.filter((x) => staff.has(x)))].sort().join();
    const claimed = staffOf(r.auth.roles);
    const fitting = users.filter((u) => staffOf(u.roles) === claimed);
    const others = fitting.filter((u) => u.id !== owned);
    const ownerFits = fitting.some((u) => u.id === owned);
    user = ownerFits && (asOwner || !others.length) ? owned : others.length ? others[pick % others.length]!.id : undefined;
  }
  const entitled =
    r.pathIds !== 'existing' ? undefined : owned !== undefined ? user === owned : ids.every((id) => pools.ownIds.includes(id)) ? true : !r.op.secured;
  return {
    ...r,
    ...(r.auth.kind === 'token' && user !== undefined ? { auth: { ...r.auth, user } } : {}),
    ...(owned !== undefined && r.auth.kind === 'token' ? { owner: user === owned } : {}),
    ...(entitled !== undefined ? { entitled } : {}),
  };
}

export const isValidRequest = (ctx: GeneratorContext) => (r: FuzzRequest) => judge(r, ctx.oracle).every((reason) => reason.kind === 'auth');

export function validRequest(ctx: GeneratorContext, op: FuzzOperation, auth: 'valid' | 'authorized' = 'valid'): fc.Arbitrary<FuzzRequest> {
  return validRequestCandidates(ctx, op, auth).filter(isValidRequest(ctx)).map(printable);
}

/**
 * How many of 200 candidates the judge keeps, with the commonest reasons it gave for the others.
 * A spec change the generators cannot follow shows up here as a clear error, not as a hang.
 */
export function acceptance(ctx: GeneratorContext, candidates: fc.Arbitrary<FuzzRequest>, keep: (r: FuzzRequest) => boolean, seed: number) {
  const sample = fc.sample(candidates, { numRuns: 200, seed });
  const rejected = sample.filter((r) => !keep(r));
  const reasons = new Map<string, number>();
  for (const r of rejected) for (const x of judge(r, ctx.oracle)) reasons.set(x.why, (reasons.get(x.why) ?? 0) + 1);
  return { kept: sample.length - rejected.length, of: sample.length, reasons: [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 5) };
}

// ---------------------------------------------------------------------------------------------
// Invalid requests: a valid request with one or two things broken, each in a different place.
// ---------------------------------------------------------------------------------------------

type Mutation = { label: string; apply: (r: FuzzRequest) => FuzzRequest };
const mutation = (label: string, apply: Mutation['apply']): Mutation => ({ label, apply });

/**
 * Keeps the candidates the oracle rejects. A parameter whose schema accepts (nearly) anything has
 * no invalid values to speak of: it gets no such mutation rather than a filter that never ends.
 */
function onlyInvalid<T>(candidates: fc.Arbitrary<T>, isInvalid: (v: T) => boolean): fc.Arbitrary<T>[] {
  const hits = fc.sample(candidates, { numRuns: 200, seed: 11 }).filter(isInvalid).length;
  return hits >= 10 ? [candidates.filter(isInvalid)] : [];
}

/** Names of fields elsewhere in the description (ids, read-only fields...), as realistic unknown fields. */
function foreignFieldNames(doc: OpenApiDoc): string[] {
  const names = new Set<string>();
  const schemas = ((doc.components as Record<string, unknown> | undefined)?.schemas ?? {}) as Record<string, { properties?: object }>;
  for (const s of Object.values(schemas)) for (const k of Object.keys(s.properties ?? {})) names.add(k);
  return [...names].sort();
}

function unknownNameArb(declared: string[], extra: string[] = []): fc.Arbitrary<string> {
  return fc
    .oneof(
      fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/),
      oddString('url', 1, 16),
      fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'a[b]', 'a[]', 'a.b', '$where', '🥕', '이름', '\u202ename', 'NAME', ' ', ...extra),
      declared.length ? fc.constantFrom(...declared).map((d) => d.toUpperCase()) : fc.constant('zz'),
      declared.length ? fc.constantFrom(...declared).map((d) => `${d}_`) : fc.constant('zz_'),
      // Bracket syntax that some query parsers turn into nested objects or drop.
      fc.tuple(fc.constantFrom('[', ']', '[]', '[a', '[a]', '.', 'a.'), fc.constantFrom('', ...declared)).map(([b, d]) => (b.startsWith('[') ? `${b}${d}${b === '[' ? ']' : ''}` : `${d}${b}`)),
    )
    .filter((n) => n !== '' && !declared.includes(n) && !declared.includes(n.split(/[[.]/)[0]!));
}

function queryMutations(ctx: GeneratorContext, op: FuzzOperation): fc.Arbitrary<Mutation>[] {
  const qs = op.parameters.filter((p) => p.in === 'query');
  const names = qs.map((p) => p.name);
  const muts: fc.Arbitrary<Mutation>[] = [
    fc
      .tuple(fc.oneof(unknownNameArb(names), rawEncodings.map((e) => e as UrlValue)), fc.oneof(oddString('url', 0, 20), rawEncodings.map((e) => e as UrlValue)))
      .filter(([k]) => (k instanceof Encoded ? !names.includes(k.decoded) && k.decoded !== '' : true))
      .map(([k, v]) => mutation(`unknown query parameter ${JSON.stringify(String(k))}`, (r) => ({ ...r, query: [...r.query, [k, v]] }))),
  ];
  for (const p of qs) {
    const candidates = fc.oneof({ arbitrary: invalidParameterCandidates(p.schema, ctx.doc, 'url').map((s) => s as UrlValue), weight: 5 }, { arbitrary: rawEncodings.map((e) => e as UrlValue), weight: 1 });
    for (const bad of onlyInvalid(candidates, (v) => !ctx.oracle.parameter(p.schema, decodedOf(v), p.required))) {
      muts.push(bad.map((v) => mutation(`query ${p.name}=${JSON.stringify(String(v))}`, (r) => ({ ...r, query: [...r.query.filter(([k]) => decodedOf(k) !== p.name), [p.name, v]] }))));
    }
    if (typesOfSchema(p.schema) !== 'array') {
      muts.push(
        fc
          .tuple(validValue(p.schema, { doc: ctx.doc, where: 'url' }), validValue(p.schema, { doc: ctx.doc, where: 'url' }))
          .map(([a, b]) => mutation(`query ${p.name} repeated`, (r) => ({ ...r, query: [...r.query, [p.name, String(a)], [p.name, String(b)]] }))),
      );
    }
    if (p.required) muts.push(fc.constant(mutation(`required query ${p.name} missing`, (r) => ({ ...r, query: r.query.filter(([k]) => decodedOf(k) !== p.name) }))));
  }
  return muts;
}

function pathMutations(ctx: GeneratorContext, op: FuzzOperation): fc.Arbitrary<Mutation>[] {
  return op.parameters
    .filter((p) => p.in === 'path')
    .flatMap((p) => {
      const candidates = fc
        .oneof({ arbitrary: invalidParameterCandidates(p.schema, ctx.doc, 'url').map((s) => s as UrlValue), weight: 5 }, { arbitrary: rawEncodings.map((e) => e as UrlValue), weight: 1 })
        .filter(pathSafe);
      return onlyInvalid(candidates, (v) => !ctx.oracle.parameter(p.schema, decodedOf(v), true)).map((bad) =>
        bad.map((v) => mutation(`path ${p.name}=${JSON.stringify(String(v))}`, (r) => ({ ...r, path: { ...r.path, [p.name]: v }, pathIds: 'random' }))),
      );
    });
}

function headerMutations(ctx: GeneratorContext, op: FuzzOperation): fc.Arbitrary<Mutation>[] {
  const muts: fc.Arbitrary<Mutation>[] = [];
  for (const p of op.parameters.filter((x) => x.in === 'header')) {
    for (const bad of onlyInvalid(invalidParameterCandidates(p.schema, ctx.doc, 'header'), (v) => !ctx.oracle.parameter(p.schema, v, p.required))) {
      muts.push(bad.map((v) => mutation(`header ${p.name}: ${preview(v, 40)}`, (r) => ({ ...r, headers: { ...r.headers, [p.name]: v } }))));
    }
    if (p.required) muts.push(fc.constant(mutation(`required header ${p.name} missing`, (r) => ({ ...r, headers: Object.fromEntries(Object.entries(r.headers).filter(([k]) => k.toLowerCase() !== p.name.toLowerCase())) }))));
  }
  return muts;
}

const MALFORMED = ['{', '}', '[', '{"a":}', '{"a":1,}', "{'a':1}", '{a:1}', '[1,2', 'NaN', '{"a":NaN}', '{"a":undefined}', '{"a":1}{"b":2}', '{"a":"\u0001"}', '{"a":"\t"}', '//c\n{}', '{"a":1}/*c*/', '{"a":0x10}', '{"a":01}', '{"a":.5}', '{"a":+1}', '{"a":"\\x41"}', '{"a":"\\u12"}', '{"a" 1}', '{,}', 'nul', 'tru', '{"a":"b}', '\u00a0{}', '"unterminated', '{"a":[}', '{"가":"나"'];

const WRONG_TYPES = ['text/plain', 'text/plain; charset=utf-8', 'application/xml', 'text/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=fuzz', 'application/octet-stream', 'application/merge-patch+json', 'application/json-patch+json', 'application/problem+json', 'text/json', 'application/vnd.api+json', 'application/jsonx', 'application/json; charset=latin1', 'application/json; charset=utf-16', 'application/json; charset=utf-32', '*/*', 'application/*', 'garbage', 'application', ';', 'image/png', 'text/html'];

/** A multipart body broken in its form, its media type, its encoding, or replaced by JSON. */
function formBodyMutations(ctx: GeneratorContext, op: FuzzOperation): fc.Arbitrary<Mutation>[] {
  const formOf = (r: FuzzRequest): Form => r.body?.form ?? { boundary: 'fuzz', parts: [] };
  const muts: fc.Arbitrary<Mutation>[] = formMutations(ctx.doc, op).map((arb) =>
    arb.map((m) =>
      mutation(m.label, (r) => {
        const { contentType, form } = m.apply(r.body?.contentType, formOf(r));
        return { ...r, body: { form, ...(contentType !== undefined ? { contentType } : {}) } };
      }),
    ),
  );
  muts.push(
    fc.constantFrom(...WRONG_TYPES).map((type) => mutation(`content-type ${type}`, (r) => ({ ...r, body: { form: formOf(r), contentType: type } }))),
    fc.constant(mutation('no content-type', (r) => ({ ...r, body: { form: formOf(r) } }))),
    fc
      .constantFrom('gzip', 'deflate', 'br', 'bogus')
      .map((enc) => mutation(`content-encoding ${enc} on a plain form`, (r) => ({ ...r, body: { form: formOf(r), ...(r.body?.contentType ? { contentType: r.body.contentType } : {}), contentEncoding: enc } }))),
    fc
      .constantFrom('application/json', 'application/json; charset=utf-8')
      .map((type) => mutation('a JSON body with the file as base64', (r) => ({ ...r, body: { value: { images: ['iVBORw0KGgo='] }, contentType: type } }))),
  );
  if (op.body!.required) muts.push(fc.constant(mutation('body missing', (r) => ({ ...r, body: { omitted: true, ...(r.body?.contentType ? { contentType: r.body.contentType } : {}) } }))));
  return muts;
}

function bodyMutations(ctx: GeneratorContext, op: FuzzOperation): fc.Arbitrary<Mutation>[] {
  if (!op.body) return [];
  if (op.body.kind === 'multipart') return formBodyMutations(ctx, op);
  const { doc } = ctx;
  const schema = op.body.schema;
  const ct = jsonContentTypes(op);
  const asObject = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof RawJson) ? { ...(v as Record<string, unknown>) } : {});
  const withValue = (r: FuzzRequest, value: unknown, contentType?: string): FuzzRequest => ({ ...r, body: { value, contentType: contentType ?? r.body?.contentType ?? 'application/json' } });
  const props = Object.entries(((deref(doc, schema).properties ?? {}) as Record<string, unknown>));
  const required = (deref(doc, schema).required ?? []) as string[];
  const muts: fc.Arbitrary<Mutation>[] = [];
  for (const [name, propSchema] of props) {
    muts.push(
      invalidJsonCandidates(propSchema, doc).map((v) =>
        mutation(`body field ${name} = ${preview(toJsonText(v), 60)}`, (r) => withValue(r, Object.assign(asObject(r.body?.value), { [name]: v }))),
      ),
    );
  }
  for (const name of required) muts.push(fc.constant(mutation(`required field ${name} missing`, (r) => {
    const v = asObject(r.body?.value);
    delete v[name];
    return withValue(r, v);
  })));
  muts.push(
    fc
      .tuple(unknownNameArb(props.map(([k]) => k), foreignFieldNames(doc)), fc.oneof(fc.jsonValue({ maxDepth: 2 }), hugeArray, deepNesting))
      .map(([name, v]) =>
        mutation(`unknown field ${JSON.stringify(name)}`, (r) => {
          const obj = asObject(r.body?.value);
          Object.defineProperty(obj, name, { value: v, enumerable: true, writable: true, configurable: true });
          return withValue(r, obj);
        }),
      ),
    fc.constant(mutation('empty object', (r) => withValue(r, {}))),
    invalidJsonCandidates({}, doc).map((v) => mutation(`top-level ${preview(toJsonText(v), 60)}`, (r) => withValue(r, v))),
    fc.oneof(hugeArray, deepNesting).map((v) => mutation(`top-level ${v.label}`, (r) => withValue(r, v))),
    fc
      .oneof(fc.constantFrom(...MALFORMED), fc.nat())
      .map((m) =>
        mutation(typeof m === 'string' ? `malformed JSON ${preview(m, 40)}` : 'truncated JSON', (r) => {
          // A cut of the real body: what a client sends when a write is interrupted.
          const full = r.body && !r.body.omitted ? bodyText(r.body)! : '{"a":1}';
          const text = typeof m === 'string' ? m : full.slice(0, 1 + (m % Math.max(1, full.length - 1)));
          return { ...r, body: { text, contentType: r.body?.contentType ?? 'application/json' } };
        }),
      ),
    fc.constantFrom(...WRONG_TYPES).map((type) => mutation(`content-type ${type}`, (r) => ({ ...r, body: { ...(r.body ?? { value: {} }), omitted: false, contentType: type } }))),
    fc.constant(mutation('no content-type', (r) => ({ ...r, body: { ...(r.body ?? { value: {} }), omitted: false, contentType: undefined } }))),
    fc.constantFrom('gzip', 'deflate', 'br', 'x-gzip', 'compress', 'zstd', 'bogus', 'gzip, identity').map((enc) =>
      mutation(`content-encoding ${enc} on a plain body`, (r) => ({ ...r, body: { ...(r.body ?? { value: {} }), omitted: false, contentEncoding: enc } })),
    ),
  );
  if (op.body.required) muts.push(ct.map((type) => mutation('body missing', (r) => ({ ...r, body: { omitted: true, contentType: type } }))));
  return muts;
}

function authMutations(op: FuzzOperation): fc.Arbitrary<Mutation>[] {
  const muts: fc.Arbitrary<Mutation>[] = [];
  if (op.acceptsBearer) muts.push(badTokenArb.map((auth) => mutation(`bad token`, (r) => ({ ...r, auth }))));
  if (op.secured) muts.push(fc.constant(mutation('no token', (r) => ({ ...r, auth: { kind: 'none' } }))));
  if (op.secured && op.roles.length) {
    muts.push(fc.subarray(OTHER_ROLES.filter((x) => !op.roles.includes(x))).map((roles) => mutation(`token without ${op.roles.join(', ')}`, (r) => ({ ...r, auth: { kind: 'token', roles } }))));
  }
  return muts;
}

/** Which kinds of invalid input apply: the content ones only where the operation documents a 400. */
export function invalidSlots(ctx: GeneratorContext, op: FuzzOperation): fc.Arbitrary<Mutation>[][] {
  const rejectsContent = documents(op, 400);
  const slots = rejectsContent ? [queryMutations(ctx, op), pathMutations(ctx, op), headerMutations(ctx, op), bodyMutations(ctx, op)] : [];
  return [...slots, authMutations(op)].filter((s) => s.length > 0);
}

export function invalidRequestCandidates(ctx: GeneratorContext, op: FuzzOperation): fc.Arbitrary<FuzzRequest> | null {
  const slots = invalidSlots(ctx, op).map((muts) => fc.oneof(...muts));
  if (!slots.length) return null;
  return fc
    .tuple(validRequest(ctx, op, 'authorized'), fc.shuffledSubarray(slots, { minLength: 1, maxLength: Math.min(2, slots.length) }).chain((chosen) => fc.tuple(...chosen)))
    .map(([base, muts]) => muts.reduce((r, m) => ({ ...m.apply(r), mutations: [...r.mutations, m.label] }), base))
    .map((r) => (r.auth.kind === 'token' && r.who ? actAs(ctx.pools, { ...r, auth: { kind: 'token', roles: r.auth.roles } }, r.who.pick, r.who.asOwner) : r));
}

export const isInvalidRequest = (ctx: GeneratorContext) => (r: FuzzRequest) => judge(r, ctx.oracle).length > 0;

export function invalidRequest(ctx: GeneratorContext, op: FuzzOperation): fc.Arbitrary<FuzzRequest> | null {
  return invalidRequestCandidates(ctx, op)?.filter(isInvalidRequest(ctx)).map(printable) ?? null;
}

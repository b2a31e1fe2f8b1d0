import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { Client } from 'pg';
import type { Config } from '../../src/config';
import { categoryId } from '../../src/modules/categories/domain/category-id';
import { signAccessToken } from '../../src/platform/http/auth';
import { tokenFor } from '../support/app';
import { raw, uniqueIp } from '../support/http';
import { checkResponse, type FuzzResponse } from './oracle';
import {
  acceptance,
  actAs,
  bodyBytes,
  describeRequest,
  invalidRequest,
  invalidRequestCandidates,
  isInvalidRequest,
  isValidRequest,
  judge,
  urlOf,
  validRequest,
  validRequestCandidates,
  type Auth,
  type FuzzRequest,
  type GeneratorContext,
  type RequestPools,
} from './requests';
import { schemaOracle } from './schema-oracle';
import { deref, documentedResponse, documents, type FuzzOperation, type FuzzSpec, type OpenApiDoc } from './spec';
import { preview } from './values';

// ---------------------------------------------------------------------------------------------
// Settings: FUZZ_RUNS (requests per run), FUZZ_SEED and FUZZ_PATH (replay), FUZZ_BATCH.
// ---------------------------------------------------------------------------------------------

export interface FuzzSettings {
  /** Requests per run, over every operation, valid and invalid together. */
  runs: number;
  seed: number;
  path: string | undefined;
  /** Requests sent at once by one property run (a small pool; the app runs in this process). */
  batch: number;
}

const intFrom = (value: string | undefined, name: string): number | undefined => {
  if (value === undefined || value === '') return undefined;
  if (!/^-?\d+$/.test(value)) throw new Error(`${name} must be an integer, got ${JSON.stringify(value)}`);
  return Number(value);
};

export function fuzzSettings(env: NodeJS.ProcessEnv = process.env): FuzzSettings {
  return {
    runs: Math.max(1, intFrom(env.FUZZ_RUNS, 'FUZZ_RUNS') ?? 5_000),
    seed: intFrom(env.FUZZ_SEED, 'FUZZ_SEED') ?? randomBytes(4).readInt32LE(0),
    path: env.FUZZ_PATH || undefined,
    batch: Math.max(1, intFrom(env.FUZZ_BATCH, 'FUZZ_BATCH') ?? 6),
  };
}

/** The content checks apply where the operation documents a 400; the auth ones where it takes a token. */
export const hasInvalidRequests = (op: FuzzOperation) => documents(op, 400) || op.acceptsBearer || op.secured;

/** Property runs per operation and kind: the request budget spread by each operation's weight. */
export function planRuns(ops: FuzzOperation[], settings: FuzzSettings): Map<string, { valid: number; invalid: number }> {
  const total = ops.reduce((sum, op) => sum + op.weight, 0);
  const plan = new Map<string, { valid: number; invalid: number }>();
  for (const op of ops) {
    const requests = Math.ceil((settings.runs * op.weight) / total);
    const invalid = hasInvalidRequests(op) ? Math.ceil(requests / 2) : 0;
    plan.set(op.operationId, { valid: Math.ceil((requests - invalid) / settings.batch), invalid: Math.ceil(invalid / settings.batch) });
  }
  return plan;
}

// ---------------------------------------------------------------------------------------------
// Context: where the app is, the ids and ETags it really serves, and what was sent.
// ---------------------------------------------------------------------------------------------

export interface FuzzContext extends GeneratorContext {
  baseUrl: string;
  config: Config;
  /** Marks every request id and user id of this process, to find what the run wrote. */
  runId: string;
  /** Requests sent by properties (discovery not included). */
  sent: number;
  seq: number;
  /** Ids that exist now (asked again): other processes create and delete scratch data meanwhile. */
  currentIds: () => Promise<Set<string>>;
  /**
   * Whether every path id of a request still exists, asked again as the owner through the reads
   * of the same ids (a delete, or a status that hides a listing, may have taken one away).
   */
  stillExists: (r: FuzzRequest) => Promise<boolean>;
  /** Answers per operation and status (`201`, `409 image_limit_reached`…), for the summary. */
  answers: Map<string, Map<string, number>>;
}

function authorization(ctx: FuzzContext, auth: Auth, userId: string): string | undefined {
  const tokens = { secret: ctx.config.JWT_SECRET, issuer: ctx.config.JWT_ISSUER };
  const claims = { sub: userId, sid: `ses_${userId}`, roles: ['admin'] };
  switch (auth.kind) {
    case 'none':
      return undefined;
    case 'token':
      return `Bearer ${tokenFor(ctx.config, auth.roles, auth.user ?? userId)}`;
    case 'bad': {
      const good = signAccessToken(claims, tokens);
      const [h, p, sig] = good.split('.') as [string, string, string];
      switch (auth.how) {
        case 'expired':
          return `Bearer ${signAccessToken(claims, tokens, -10)}`;
        case 'wrong-key':
          return `Bearer ${signAccessToken(claims, { ...tokens, secret: `${tokens.secret}-but-not-ours` })}`;
        case 'wrong-issuer':
          return `Bearer ${signAccessToken(claims, { ...tokens, issuer: `${tokens.issuer}-elsewhere` })}`;
        case 'alg-none':
          return `Bearer ${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`;
        case 'tampered':
          return `Bearer ${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), roles: ['admin', 'root'] })).toString('base64url')}.${sig}`;
        case 'no-scheme':
          return good;
        case 'basic':
          return `Basic ${Buffer.from('admin:admin').toString('base64')}`;
        case 'empty':
          return 'Bearer ';
        case 'garbage':
          return `Bearer ${auth.garbage}`;
      }
    }
  }
}

/** Sends one request from its own client address and user, with a request id that marks this run. */
export async function send(ctx: FuzzContext, r: FuzzRequest): Promise<FuzzResponse> {
  const n = ++ctx.seq;
  const requestId = `fuzz-${ctx.runId}-${n}`;
  const url = urlOf(ctx.baseUrl, r);
  try {
    const headers = new Headers({ 'x-forwarded-for': uniqueIp(), 'x-request-id': requestId });
    for (const [k, v] of Object.entries(r.headers)) headers.set(k, v);
    const auth = authorization(ctx, r.auth, `usr_fuzz_${ctx.runId}_${n}`);
    if (auth !== undefined) headers.set('authorization', auth);
    const body = r.body ? bodyBytes(r.body) : undefined;
    if (r.body?.contentType !== undefined) headers.set('content-type', r.body.contentType);
    if (r.body?.contentEncoding !== undefined) headers.set('content-encoding', r.body.contentEncoding);
    // A redirect is an answer under test (the social sign-in starts), not something to follow.
    const res = await raw(url, { method: r.op.method.toUpperCase(), headers, body, redirect: 'manual', signal: AbortSignal.timeout(20_000) });
    return { url, requestId, status: res.status, headers: res.headers, text: res.text, json: res.json };
  } catch (err) {
    return { url, requestId, status: 0, headers: new Headers(), text: `${String(err)} ${String((err as { cause?: unknown }).cause ?? '')}`, json: undefined };
  }
}

/**
 * Every `id` / `*_id` string of a JSON answer at a place where its documented schema declares
 * that property (an example id inside /openapi.json is not a resource that exists).
 */
function collectIds(doc: OpenApiDoc, schemaIn: unknown, node: unknown, into: Set<string>, depth = 0, onlyOwn = false): void {
  if (schemaIn === undefined || node === null || typeof node !== 'object' || depth > 12) return;
  const schema = deref(doc, schemaIn);
  for (const key of ['allOf', 'anyOf', 'oneOf']) for (const s of (schema[key] as unknown[] | undefined) ?? []) collectIds(doc, s, node, into, depth + 1, onlyOwn);
  if (Array.isArray(node)) {
    for (const item of node) collectIds(doc, schema.items, item, into, depth + 1, onlyOwn);
    return;
  }
  const properties = (schema.properties ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(node)) {
    // `*_id` names something else, which may be gone since (a notification's alert): only `id` proves existence.
    if (k in properties && (k === 'id' || (!onlyOwn && k.endsWith('_id'))) && typeof v === 'string') into.add(v);
    else collectIds(doc, properties[k] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined), v, into, depth + 1, onlyOwn);
  }
}

/**
 * Reads what exists from the API itself: every safe operation without path parameters is called,
 * ids are collected from the answers, then each operation with path ids is called on some of them
 * for its ETag.
 */
export async function createFuzzContext(opts: {
  baseUrl: string;
  config: FuzzContext['config'];
  spec: FuzzSpec;
  ownIds: string[];
  /** The fuzzer's accounts, owners of its resources, and ids reserved for one operation. */
  pools?: Pick<RequestPools, 'users' | 'owners' | 'exclusive'>;
  files?: FuzzContext['files'];
}): Promise<FuzzContext> {
  const ctx: FuzzContext = {
    baseUrl: opts.baseUrl,
    config: opts.config,
    doc: opts.spec.doc,
    oracle: schemaOracle(opts.spec.doc),
    pools: { knownIds: [], ownIds: [...opts.ownIds].sort(), etags: [], ...opts.pools },
    ...(opts.files ? { files: opts.files } : {}),
    runId: randomBytes(5).toString('hex'),
    sent: 0,
    seq: 0,
    answers: new Map(),
    currentIds: async () => {
      const now = new Set<string>(opts.ownIds);
      for (const op of lists) await call(op, {}, now);
      return now;
    },
    stillExists: async (r) => {
      const values = Object.values(r.path).map(String);
      const now = new Set<string>();
      const asked = new Set<string>();
      // The reads whose path ids are among the request's (GET /products/{id} for PUT /products/{id}…).
      for (const op of reads) {
        const names = op.parameters.filter((p) => p.in === 'path').map((p) => p.name);
        if (!names.length || !names.every((n) => n in r.path)) continue;
        const path = Object.fromEntries(names.map((n) => [n, String(r.path[n])]));
        for (const v of Object.values(path)) asked.add(v);
        // A 2xx names what the read is about (its last path id) as existing; its body, what it holds.
        if (await call(op, path, now, Object.values(path), true)) now.add(path[names[names.length - 1]!]!);
      }
      // Lists only for ids no read takes: a search index may still list what was just deleted.
      if (values.some((v) => !asked.has(v))) for (const op of lists) await call(op, {}, now, values, true);
      return values.every((v) => now.has(v));
    },
  };
  const ids = new Set<string>(opts.ownIds);
  const etags = new Set<string>();
  const reads = opts.spec.operations.filter((op) => !op.write);
  const lists = reads.filter((o) => !o.parameters.some((p) => p.in === 'path'));
  /** Calls a read as it should succeed (as the owner of the ids, with the roles it needs); true on a 2xx. */
  const call = async (op: FuzzOperation, path: Record<string, string>, into = ids, about: string[] = Object.values(path), onlyOwn = false): Promise<boolean> => {
    const owner = about.map((v) => ctx.pools.owners?.[v]).find((u) => u !== undefined);
    const auth: Auth = op.secured || op.roles.length || owner ? { kind: 'token', roles: op.roles } : { kind: 'none' };
    // As the owner of what it is about, else as one of the fuzzer's accounts with the roles it needs.
    const request = actAs(ctx.pools, { op, mutations: [], path, pathIds: 'existing', query: [], headers: {}, auth, body: undefined }, 0, true);
    const res = await send(ctx, owner && request.auth.kind === 'token' ? { ...request, auth: { ...request.auth, user: owner } } : request);
    if (res.status >= 200 && res.status < 300) {
      const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      collectIds(opts.spec.doc, documentedResponse(op, res.status)?.get(type), res.json, into, 0, onlyOwn);
      const etag = res.headers.get('etag');
      if (etag) etags.add(etag);
      return true;
    }
    return false;
  };
  for (const op of lists) await call(op, {});
  for (const op of reads) {
    const pathParams = op.parameters.filter((p) => p.in === 'path');
    if (!pathParams.length) continue;
    const candidates = pathParams.map((p) => [...ids].filter((id) => ctx.oracle.parameter(p.schema, id, true)).sort());
    if (candidates.some((c) => !c.length)) continue;
    for (let i = 0; i < 3; i++) await call(op, Object.fromEntries(pathParams.map((p, j) => [p.name, candidates[j]![i % candidates[j]!.length]!])));
    for (const own of opts.ownIds) if (pathParams.length === 1 && ctx.oracle.parameter(pathParams[0]!.schema, own, true)) await call(op, { [pathParams[0]!.name]: own });
  }
  ctx.pools.knownIds = [...ids].sort();
  ctx.pools.etags = [...etags].sort();
  return ctx;
}

// ---------------------------------------------------------------------------------------------
// The property, and running it with a seed that can be replayed.
// ---------------------------------------------------------------------------------------------

export type FuzzKind = 'valid' | 'invalid';

/**
 * Sends a batch of generated requests to the app at once and checks every answer. Valid ones
 * must get a documented status and never a 5xx; invalid ones a documented 4xx problem.
 */
export function fuzzProperty(ctx: FuzzContext, op: FuzzOperation, kind: FuzzKind, batch: number): fc.IAsyncPropertyWithHooks<[FuzzRequest[]]> | null {
  const candidates = kind === 'valid' ? validRequestCandidates(ctx, op) : invalidRequestCandidates(ctx, op);
  if (!candidates) return null;
  const keep = kind === 'valid' ? isValidRequest(ctx) : isInvalidRequest(ctx);
  const { kept, of, reasons } = acceptance(ctx, candidates, keep, 1);
  if (kept < of / 20) {
    throw new Error(`fuzz: only ${kept} of ${of} generated ${kind} requests for ${op.operationId} are ${kind} by the description (${JSON.stringify(reasons)}); the generators in test/fuzz do not follow a constraint of the spec`);
  }
  const request = kind === 'valid' ? validRequest(ctx, op) : invalidRequest(ctx, op)!;
  return fc.asyncProperty(fc.array(request, { minLength: batch, maxLength: batch }), async (requests) => {
    const answers = await Promise.all(requests.map((r) => send(ctx, r)));
    ctx.sent += requests.length;
    const tally = ctx.answers.get(`${op.operationId} ${kind}`) ?? new Map<string, number>();
    ctx.answers.set(`${op.operationId} ${kind}`, tally);
    for (const a of answers) {
      const key = `${a.status}${typeof a.json?.code === 'string' ? ` ${a.json.code}` : ''}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    // A 404 for an id that existed is only a finding if it still exists (a delete may have taken
    // it). Read models follow deletes by events, so "still exists" must hold once they settle.
    // Asked for all such answers at once: one by one, a batch of 404s for another user's ids
    // took ~3 s each and could run a property past its time limit.
    const gone = await Promise.all(requests.map(async (r, i) => answers[i]!.status === 404 && r.pathIds === 'existing' && !(await stillExistsOnceSettled(ctx, r))));
    const checked = requests.map((r, i) => (gone[i] ? { ...r, pathIds: 'random' as const } : r));
    const failures = checked.flatMap((r, i) => {
      const res = answers[i]!;
      const problems = checkResponse(ctx.oracle, r, res, judge(r, ctx.oracle));
      if (!problems.length) return [];
      return [`${describeRequest(r, res.url.slice(ctx.baseUrl.length))}\n    → ${res.status} ${preview(res.text, 300)}\n    ✗ ${problems.join('\n    ✗ ')}`];
    });
    if (failures.length) throw new Error(`\n${failures.join('\n')}`);
  });
}

/** True when the request's path ids are still found after up to ~3 s for the read models to catch up. */
async function stillExistsOnceSettled(ctx: FuzzContext, r: FuzzRequest): Promise<boolean> {
  for (let attempt = 0; attempt < 4; attempt++) {
    if (!(await ctx.stillExists(r))) return false;
    await new Promise((done) => setTimeout(done, 750));
  }
  return true;
}

/** Runs a property; on failure the error carries the seed, the shrunk request and the replay command. */
export async function runFuzz(property: fc.IAsyncPropertyWithHooks<[FuzzRequest[]]>, opts: { seed: number; numRuns: number; path?: string | undefined; title: string; timeLimitMs: number }): Promise<fc.RunDetails<[FuzzRequest[]]>> {
  // Shrinking a failure against a live API can take longer than the test may run: stop it in time
  // so that the counterexample found so far is reported instead of a bare timeout.
  const details = await fc.check(property, {
    seed: opts.seed,
    numRuns: opts.numRuns,
    includeErrorInReport: true,
    interruptAfterTimeLimit: opts.timeLimitMs,
    ...(opts.path ? { path: opts.path } : {}),
  });
  if (details.failed) {
    const report = (await fc.asyncDefaultReportMessage(details)) ?? 'the property failed';
    // vitest's -t takes a regular expression.
    const pattern = opts.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/'/g, '.');
    throw new Error(`${report}\n\nReplay exactly: FUZZ_SEED=${details.seed} FUZZ_PATH='${details.counterexamplePath ?? ''}' npx vitest run test/fuzz -t '${pattern}'`);
  }
  return details;
}

// ---------------------------------------------------------------------------------------------
// The fuzzer's own category, and what an invalid request could have changed.
// ---------------------------------------------------------------------------------------------

/** A category of the fuzzer's own under 기타 중고물품 (named from the seed, so a replay targets the same id). */
export async function createOwnCategory(db: Client, seed: number): Promise<{ id: string; path: string }> {
  const slug = `fuzz-${(seed >>> 0).toString(36)}`;
  const path = `other/${slug}`;
  const id = categoryId(path);
  await db.query(
    `INSERT INTO categories (id, parent_id, name, slug, depth, path, sort_order) VALUES ($1, $2, '퍼징 분류', $3, 1, $4, 9500)
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, sort_order = EXCLUDED.sort_order`,
    [id, categoryId('other'), slug, path],
  );
  return { id, path };
}

/** What a request could change, digested: compared before and after the invalid requests. */
export interface StoredState {
  categories: { n: number; digest: string };
  catalog: Record<string, { n: number; digest: string }>;
  events: number;
  at: Date;
}

/**
 * What a request to this API could change: the category tree; the listings of the fuzzer's
 * accounts with their photos (view counts left out: views are counted by valid reads and flushed
 * later), their likes and keyword alerts; and the events recorded for the tree, by any request of
 * this run or by any of its accounts. Test files keep their scratch categories under `other` (as
 * this one does); those of other files, which may be created, edited and deleted by a test running
 * in another process meanwhile, are left out. The fuzzer never aims a write at them.
 */
export async function storedState(db: Client, runId: string, ownIds: string[], users: string[] = []): Promise<StoredState> {
  const { rows: clock } = await db.query<{ now: Date }>('SELECT clock_timestamp() AS now');
  const scope = `FROM categories WHERE NOT (parent_id = $1 AND id <> ALL($2::text[]))`;
  const { rows: cats } = await db.query<{ n: number; digest: string }>(
    `SELECT count(*)::int AS n,
            md5(coalesce(string_agg(concat_ws('|', id, parent_id, name, slug, depth, path, sort_order, created_at, updated_at), E'\\n' ORDER BY id), '')) AS digest
       ${scope}`,
    [categoryId('other'), ownIds],
  );
  const digest = async (table: string, columns: string, where: string, order: string) => {
    const { rows } = await db.query<{ n: number; digest: string }>(
      `SELECT count(*)::int AS n, md5(coalesce(string_agg(concat_ws('|', ${columns}), E'\\n' ORDER BY ${order}), '')) AS digest FROM ${table} WHERE ${where}`,
      [users],
    );
    return rows[0]!;
  };
  const catalog = {
    products: await digest(
      'products',
      'id, seller_id, title, description, category_id, price, offers_allowed, condition, trade_methods, shipping_fee, quantity, status, buyer_id, moderation, like_count, bumped_at, created_at, updated_at, deleted_at',
      'seller_id = ANY($1::text[])',
      'id',
    ),
    product_images: await digest(
      'product_images',
      'id, product_id, status, position, content_type, bytes, width, height, failure_reason, display_key, thumb_key, updated_at, deleted_at',
      'seller_id = ANY($1::text[])',
      'id',
    ),
    product_likes: await digest('product_likes', 'user_id, product_id, created_at', 'user_id = ANY($1::text[])', 'user_id, product_id'),
    keyword_alerts: await digest('keyword_alerts', 'id, user_id, keyword, category_id, dong_code, created_at', 'user_id = ANY($1::text[])', 'id'),
  };
  const { rows: events } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM events
      WHERE metadata->>'request_id' LIKE $3 OR metadata->>'actor_id' LIKE $4 OR metadata->>'actor_id' = ANY($5::text[])
         OR (aggregate_type = 'category' AND aggregate_id IN (SELECT id ${scope}))`,
    [categoryId('other'), ownIds, `fuzz-${runId}-%`, `usr_fuzz_${runId}_%`, users],
  );
  return { categories: cats[0]!, catalog, events: events[0]!.n, at: clock[0]!.now };
}

/**
 * The stored state once the work that valid requests started in the background is done (photos
 * being processed, events being relayed): two reads a second apart that agree, with no photo of
 * the fuzzer's accounts still processing.
 */
export async function settledState(db: Client, runId: string, ownIds: string[], users: string[] = [], timeoutMs = 60_000): Promise<StoredState> {
  const deadline = Date.now() + timeoutMs;
  let last = await storedState(db, runId, ownIds, users);
  for (;;) {
    await new Promise((r) => setTimeout(r, 1_000));
    const now = await storedState(db, runId, ownIds, users);
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM product_images WHERE seller_id = ANY($1::text[]) AND status = 'processing' AND deleted_at IS NULL`, [users]);
    const { at: _a, ...a } = last;
    const { at: _b, ...b } = now;
    if (rows[0]!.n === 0 && JSON.stringify(a) === JSON.stringify(b)) return now;
    if (Date.now() > deadline) throw new Error(`fuzz: the stored state did not settle within ${timeoutMs} ms (${rows[0]!.n} photos still processing)`);
    last = now;
  }
}

/** What changed since `at` that this run could have caused: for the failure message. */
export async function changesSince(db: Client, runId: string, at: Date, users: string[] = []): Promise<unknown[]> {
  const { rows: categories } = await db.query('SELECT id, path, name, sort_order, updated_at FROM categories WHERE updated_at >= $1 ORDER BY updated_at', [at]);
  const { rows: products } = await db.query('SELECT id, status, price, title, updated_at, deleted_at FROM products WHERE seller_id = ANY($2::text[]) AND (updated_at >= $1 OR created_at >= $1 OR deleted_at >= $1)', [at, users]);
  const { rows: images } = await db.query('SELECT id, product_id, status, position, updated_at, deleted_at FROM product_images WHERE seller_id = ANY($2::text[]) AND (updated_at >= $1 OR created_at >= $1)', [at, users]);
  const { rows: events } = await db.query(
    `SELECT type, aggregate_id, payload, metadata FROM events
      WHERE occurred_at >= $1 AND (metadata->>'request_id' LIKE $2 OR aggregate_type = 'category' OR metadata->>'actor_id' = ANY($3::text[])) ORDER BY position`,
    [at, `fuzz-${runId}-%`, users],
  );
  return [...categories.map((c) => ({ category: c })), ...products.map((p) => ({ product: p })), ...images.map((i) => ({ image: i })), ...events.map((e) => ({ event: e }))].slice(0, 20);
}

import { createHash } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { QueryTypes, type Sequelize } from 'sequelize';
import type { RequestContext } from '../context';
import type { BlindIndexer, FieldCipher } from '../crypto/field-cipher';
import { inTransaction } from '../db/transaction';
import { deleteInSlices } from '../db/prune';
import { AppError } from '../errors';
import { sendProblem } from './problem';
import { HTTP_METHODS, type OpenApiDocument, type OpenApiOperation } from './spec';

// Idempotency-Key, as API-CONVENTIONS.md (Idempotency) defines it: the first completed response
// to a (principal, key) is stored in the transaction of the request's own writes and replayed.
// Stored encrypted, with a keyed fingerprint of the request (IdempotencyStore: why).

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const IDEMPOTENCY_RETENTION_HOURS = 24;

/** A response as stored and replayed: status, the headers the handler set (and Content-Type), the body's bytes. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface IdempotentRequest {
  /** The actor's user id, or `anonymous`. */
  principal: string;
  key: string;
  method: string;
  /** The spec's path template, e.g. `/orders/{order_id}/confirm`. */
  route: string;
  /** canonicalRequest() of the request: never stored, only its keyed fingerprint. */
  canonical: string;
}

/**
 * Where the answers are stored, and the keys that protect them at rest. Requests carry
 * passwords, e-mail addresses and exact positions, and answers carry e-mail addresses: an
 * unkeyed hash of a request is brute-forced from a word list or a grid of points in seconds, so
 * the fingerprint is an HMAC, and the answer is encrypted like any other personal data.
 */
export interface IdempotencyStore {
  sequelize: Sequelize;
  /** The personal-data cipher (FIELD_ENCRYPTION_KEYS): the ring's rotation applies to stored answers too. */
  cipher: Pick<FieldCipher, 'encrypt' | 'decrypt'>;
  /** The personal-data keyed hashes (BLIND_INDEX_KEY), under a purpose of the fingerprint's own. */
  indexer: Pick<BlindIndexer, 'keyedHash'>;
}

export const principalOf = (ctx: RequestContext): string => ctx.actor?.userId ?? 'anonymous';

const keyRequired = () =>
  new AppError(400, 'idempotency_key_required', 'Idempotency key required', 'This operation requires an Idempotency-Key header: send a new unique key (a UUID) and reuse it when retrying.', [
    { parameter: IDEMPOTENCY_KEY_HEADER, in: 'header', code: 'missing_field', detail: 'Idempotency-Key is required' },
  ]);
const inProgress = () =>
  new AppError(409, 'idempotency_request_in_progress', 'Request in progress', 'A request with this Idempotency-Key is still being processed; retry after Retry-After seconds.', [], {
    'Retry-After': '1',
  });
const reused = () => new AppError(422, 'idempotency_key_reused', 'Idempotency key reused', 'This Idempotency-Key was used with a different request.');

type Parameter = { name: string; in: string; required?: boolean; $ref?: string };

/**
 * How each operation declares Idempotency-Key, by `method path`: `required` or `optional`. An
 * operation that does not declare it ignores the header.
 */
export function idempotencyKeyUse(doc: OpenApiDocument): Map<string, 'required' | 'optional'> {
  const components = (doc.components?.parameters ?? {}) as Record<string, Parameter>;
  const resolve = (p: Parameter): Parameter => (p.$ref ? components[p.$ref.split('/').pop()!] ?? p : p);
  const use = new Map<string, 'required' | 'optional'>();
  for (const [route, item] of Object.entries(doc.paths)) {
    const shared = ((item as { parameters?: Parameter[] }).parameters ?? []).map(resolve);
    for (const method of HTTP_METHODS) {
      const op = item[method] as (OpenApiOperation & { parameters?: Parameter[] }) | undefined;
      if (!op) continue;
      // An operation's own parameter overrides a path-level one of the same name and location.
      const declared = [...(op.parameters ?? []).map(resolve), ...shared].find(
        (p) => p.in === 'header' && p.name.toLowerCase() === IDEMPOTENCY_KEY_HEADER.toLowerCase(),
      );
      if (declared) use.set(`${method} ${route}`, declared.required ? 'required' : 'optional');
    }
  }
  return use;
}

/**
 * 400 idempotency_key_required for an operation whose spec requires the key, when it is missing
 * or empty. Mounted under the base path before the validator, which would otherwise answer a
 * generic validation_failed.
 */
export function requireIdempotencyKeys(doc: OpenApiDocument): Router {
  const router = Router();
  for (const [op, use] of idempotencyKeyUse(doc)) {
    if (use !== 'required') continue;
    const [method, route] = op.split(' ') as [(typeof HTTP_METHODS)[number], string];
    router[method](route.replace(/\{([^}]+)\}/g, ':$1'), (req, _res, next) => next(req.get(IDEMPOTENCY_KEY_HEADER) ? undefined : keyRequired()));
  }
  return router;
}

/** JSON with object keys sorted at every level, so that key order does not change a fingerprint. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const entries = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The request as compared: path parameters (the route template alone would let one key confirm
 * two different orders), the query as name/value pairs in name order (values of one name keep
 * their order), and the body with sorted keys.
 */
export function canonicalRequest(pathParams: Record<string, string>, originalUrl: string, body: unknown): string {
  const search = originalUrl.includes('?') ? originalUrl.slice(originalUrl.indexOf('?') + 1) : '';
  const query = [...new URLSearchParams(search)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return canonicalJson({ path: { ...pathParams }, query, body: body ?? null });
}

const FINGERPRINT_PURPOSE = 'idempotency.fingerprint';

/**
 * Keyed, so that a stored fingerprint cannot be matched against guesses without the server's
 * key; over the principal and key too, so that the same request by two callers (or under two
 * keys) is not recognisable as such, and a row moved to another principal does not match.
 * The JSON array in front is self-delimiting: no principal or key can run into the request.
 */
function fingerprintOf(indexer: IdempotencyStore['indexer'], request: IdempotentRequest): string {
  return indexer.keyedHash(`${JSON.stringify([request.principal, request.key])}${request.canonical}`, FINGERPRINT_PURPOSE);
}

/**
 * The fingerprint of rows written before migration 0033 (`response_enc` NULL): their requests
 * are still recognised, so a retry across the deploy is replayed instead of running twice. Remove
 * with the legacy branch in execute() (see there).
 */
const legacyFingerprintOf = (canonical: string): string => createHash('sha256').update(canonical).digest('hex');
const LEGACY_FINGERPRINT = /^[0-9a-f]{64}$/;

// The stored answer is bound to its (principal, key): copied to another row, it does not decrypt.
const responseAad = (principal: string, key: string) => `idempotency_keys.response:${JSON.stringify([principal, key])}`;

function seal(cipher: IdempotencyStore['cipher'], principal: string, key: string, response: StoredResponse): string {
  // Headers are sealed with the body: a handler may one day put something personal in one.
  const envelope = { status: response.status, headers: response.headers, body: response.body.toString('base64') };
  return cipher.encrypt(JSON.stringify(envelope), responseAad(principal, key));
}

/**
 * A stored answer that does not decrypt (moved from another row, altered, or sealed under a key
 * since removed from the ring) still means the request ran: it is neither replayed nor run again.
 * Each retry fails as an unexpected error (500, logged; nothing stored) until the row expires.
 */
function unseal(cipher: IdempotencyStore['cipher'], principal: string, key: string, sealed: string): StoredResponse {
  let envelope: { status: number; headers: Record<string, string>; body: string };
  try {
    envelope = JSON.parse(cipher.decrypt(sealed, responseAad(principal, key))) as typeof envelope;
  } catch (cause) {
    throw new Error('the stored Idempotency-Key answer does not decrypt (moved, altered, or its key left FIELD_ENCRYPTION_KEYS): not replayed, not run again', { cause });
  }
  return { status: envelope.status, headers: envelope.headers, body: Buffer.from(envelope.body, 'base64') };
}

/** The problem response exactly as the error middleware writes it (sendProblem), captured so that it can be stored. */
export function renderProblem(req: Request, res: Response, e: AppError): StoredResponse {
  const out: StoredResponse = { status: e.status, headers: {}, body: Buffer.alloc(0) };
  const sink = {
    locals: res.locals,
    setHeader: (name: string, value: string) => ((out.headers[name] = String(value)), sink),
    status: (code: number) => ((out.status = code), sink),
    type: (type: string) => ((out.headers['Content-Type'] = type), sink),
    send: (body: string | Buffer) => ((out.body = Buffer.from(body)), sink),
  };
  sendProblem(req, sink as unknown as Response, e);
  return out;
}

interface Row {
  method: string;
  route: string;
  fingerprint: string;
  status: number;
  /** Rows before migration 0033 only: new rows keep `{}` and an empty body, and seal both in response_enc. */
  headers: Record<string, string>;
  body: Buffer;
  response_enc: string | null;
}

/** Thrown out of the transaction to roll it back while still answering with the response. */
class NotStored {
  constructor(readonly response: StoredResponse) {}
}

export interface IdempotencyOutcome {
  replayed: boolean;
  response: StoredResponse;
}

/**
 * Runs `handle` at most once per (principal, key) within the retention:
 * - the request's transaction takes a transaction-scoped advisory lock on (principal, key); if
 *   another request holds it: 409 idempotency_request_in_progress, Retry-After: 1;
 * - a stored response for the same method, route and fingerprint is replayed; for another one:
 *   422 idempotency_key_reused;
 * - otherwise `handle` runs in a savepoint of that transaction (`ctx.transaction`). A 2xx-4xx
 *   result is stored with its writes and committed; an AppError 4xx rolls back the savepoint,
 *   and the problem is stored and committed (a retry gets the same 4xx); anything else (5xx,
 *   unexpected errors) rolls back everything and stores nothing.
 */
export async function executeIdempotently(
  store: IdempotencyStore,
  ctx: RequestContext,
  request: IdempotentRequest,
  handle: () => Promise<StoredResponse>,
  onClientError: (e: AppError) => StoredResponse,
): Promise<IdempotencyOutcome> {
  const release = await slotsOf(store.sequelize).acquire();
  try {
    return await execute(store, ctx, request, handle, onClientError);
  } finally {
    release();
  }
}

/**
 * A request's transaction holds a pooled connection while its handler runs, and handlers also
 * read outside it (lookups before their own writes) on another connection. With as many
 * idempotent requests in flight as the pool has connections, each would hold one and wait for a
 * second until the acquire timeout (found by the fuzzer: six concurrent registrations stalled 10 s
 * and three failed with a 500). So one connection is always left to the reads: at most pool − 1
 * idempotent requests run at once per process; the others wait here, holding nothing.
 */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }
  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}
const slots = new WeakMap<Sequelize, Slots>();
function slotsOf(sequelize: Sequelize): Slots {
  let s = slots.get(sequelize);
  if (!s) {
    const poolMax = sequelize.config.pool?.max ?? 5;
    s = new Slots(Math.max(1, poolMax - 1));
    slots.set(sequelize, s);
  }
  return s;
}

async function execute(
  { sequelize, cipher, indexer }: IdempotencyStore,
  ctx: RequestContext,
  request: IdempotentRequest,
  handle: () => Promise<StoredResponse>,
  onClientError: (e: AppError) => StoredResponse,
): Promise<IdempotencyOutcome> {
  const { principal, key } = request;
  const fingerprint = fingerprintOf(indexer, request);
  try {
    return await sequelize.transaction(async (t): Promise<IdempotencyOutcome> => {
      // The key has no spaces (its pattern), so `principal key` is unambiguous.
      const [lock] = await sequelize.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS locked', {
        bind: [`${principal} ${key}`],
        type: QueryTypes.SELECT,
        transaction: t,
      });
      if (!lock?.locked) throw inProgress();
      const [stored] = await sequelize.query<Row>(
        'SELECT method, route, fingerprint, status, headers, body, response_enc FROM idempotency_keys WHERE principal = $1 AND key = $2 AND expires_at > now()',
        { bind: [principal, key], type: QueryTypes.SELECT, transaction: t },
      );
      if (stored) {
        // Legacy: a row of the release before migration 0033 (plain answer, SHA-256 fingerprint)
        // is compared and replayed as that release did, so that a retry across the deploy does
        // not run twice. Older processes write such rows until the last of them stops, and they
        // live IDEMPOTENCY_RETENTION_HOURS: 24 h after the whole fleet runs this release, none is
        // read any more (`SELECT count(*) FROM idempotency_keys WHERE response_enc IS NULL AND
        // expires_at > now()` is 0), and this branch, legacyFingerprintOf and the body and headers
        // columns can go.
        // Told by the fingerprint's form as well (SHA-256 hex; an HMAC here is base64url): an older
        // process replacing an expired sealed row does not know response_enc and leaves it set.
        const legacy = stored.response_enc === null || LEGACY_FINGERPRINT.test(stored.fingerprint);
        const expected = legacy ? legacyFingerprintOf(request.canonical) : fingerprint;
        if (stored.method !== request.method || stored.route !== request.route || stored.fingerprint !== expected) throw reused();
        const response = legacy ? { status: stored.status, headers: stored.headers, body: stored.body } : unseal(cipher, principal, key, stored.response_enc!);
        return { replayed: true, response };
      }

      let response: StoredResponse;
      try {
        response = await inTransaction(sequelize, { transaction: t }, (savepoint) => {
          ctx.transaction = savepoint;
          return handle();
        });
      } catch (err) {
        if (!(err instanceof AppError) || err.status < 400 || err.status >= 500) throw err;
        response = onClientError(err);
      } finally {
        ctx.transaction = undefined;
      }
      // A refusal that names when to come back (429 bump_too_soon, listing_limit_reached: their
      // Retry-After) is about that moment, not about the request: stored, it would be replayed,
      // stale Retry-After included, to the very retry it invites, for the whole retention.
      if (response.status >= 500 || response.status === 429) throw new NotStored(response);

      // An expired row may still be there (pruning is periodic): it is replaced, a legacy one by
      // a sealed one. The status stays readable (it holds nothing personal and the table checks
      // it); the replay takes the sealed one.
      await sequelize.query(
        `INSERT INTO idempotency_keys (principal, key, method, route, fingerprint, status, headers, body, response_enc, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, '{}', '', $7, now() + make_interval(hours => $8))
         ON CONFLICT (principal, key) DO UPDATE
           SET method = EXCLUDED.method, route = EXCLUDED.route, fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status,
               headers = EXCLUDED.headers, body = EXCLUDED.body, response_enc = EXCLUDED.response_enc,
               created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at`,
        {
          bind: [principal, key, request.method, request.route, fingerprint, response.status, seal(cipher, principal, key, response), IDEMPOTENCY_RETENTION_HOURS],
          transaction: t,
        },
      );
      return { replayed: false, response };
    });
  } catch (err) {
    if (err instanceof NotStored) return { replayed: false, response: err.response };
    throw err;
  }
}

/** Deletes expired keys, in bounded slices (deleteInSlices); how many. The worker's `maintenance.prune-idempotency-keys`, daily. */
export function pruneIdempotencyKeys(sequelize: Sequelize, sliceSize = 5000): Promise<number> {
  return deleteInSlices(async (limit) => {
    const rows = await sequelize.query(
      `DELETE FROM idempotency_keys WHERE ctid IN (
         SELECT ctid FROM idempotency_keys WHERE expires_at <= now() LIMIT $1)
       RETURNING 1`,
      { bind: [limit], type: QueryTypes.SELECT },
    );
    return rows.length;
  }, sliceSize);
}

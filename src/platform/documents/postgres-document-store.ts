import { createHash, randomBytes } from 'node:crypto';
import { Client, Pool, type PoolClient } from 'pg';
import { runPrepared } from '../db/prepared';
import type { Logger } from '../logger';
import {
  assertSpec,
  planQuery,
  prepareDoc,
  toPage,
  type Collection,
  type CollectionSpec,
  type Doc,
  type DocumentStore,
  type FindQuery,
  type IndexType,
  type Page,
  type PlannedQuery,
  type Segment,
} from './document-store';

// One table per collection: `doc_<name> (id, version, body jsonb, updated_at)`, and per declared
// field one expression index `(field expression, id)` so that both filters and the keyset
// pagination `ORDER BY field, id` are index scans.
//
// Identifiers come only from names checked by assertSpec's regexes (collection and field names),
// never from query input; every value is a bind parameter.
//
// Field expressions (the index and the queries must use the very same ones, or the planner
// cannot match them):
// - number:  ((body->>'f')::numeric)
// - boolean: ((body->>'f')::boolean)
// - string:  ((body->>'f') COLLATE "C"): byte order, which for UTF-8 is code point order, the
//   order MongoDB uses too, whatever the database's default collation; also cheaper.
// - date:    as string. Dates are stored as `toISOString()` (fixed-width UTC, see prepareDoc),
//   whose byte order is time order. A `::timestamptz` cast cannot be indexed (it is STABLE: it
//   depends on the TimeZone setting), and an IMMUTABLE wrapper around it would be a lie the
//   planner trusts; comparing the normalised text needs neither, and is what MongoDB does.
// `id` is a `COLLATE "C"` column for the same ordering reason.

export interface PostgresDocumentStoreOptions {
  url: string;
  log: Logger;
  /** Small by default, like the main pool (PERFORMANCE-NOTES.md). */
  poolMax?: number;
}

export class PostgresDocumentStore implements DocumentStore {
  readonly kind = 'postgres' as const;
  private readonly pool: Pool;

  constructor(private readonly opts: PostgresDocumentStoreOptions) {
    this.pool = new Pool({ connectionString: opts.url, max: opts.poolMax ?? 4, idleTimeoutMillis: 10_000, application_name: 'junggo-documents' });
    // An idle client's error (e.g. the server restarted) would otherwise crash the process.
    this.pool.on('error', (err) => opts.log.warn({ err }, 'document store: idle connection error'));
  }

  async collection<T extends Doc>(spec: CollectionSpec): Promise<Collection<T>> {
    assertSpec(spec);
    const table = tableOf(spec.name);
    await this.transaction(async (c) => {
      await lockDdl(c, table);
      await createTable(c, table, spec);
    });
    return new PgCollection<T>(this.pool, table, spec, this.opts.log);
  }

  async rebuild<T extends Doc>(spec: CollectionSpec, fill: (shadow: Collection<T>) => Promise<void>): Promise<void> {
    assertSpec(spec);
    const live = tableOf(spec.name);
    const shadow = `${live}__shadow_${randomBytes(4).toString('hex')}`;
    // Rebuilds of one collection run one after another, across processes. The lock is held for
    // the whole fill by its own session, outside the pool, so a fill can use every pooled
    // connection (a pool of 1 would otherwise deadlock); the session ending releases it.
    const lock = new Client({ connectionString: this.opts.url, application_name: 'junggo-documents-rebuild' });
    lock.on('error', (err) => this.opts.log.warn({ err, table: live }, 'document store: rebuild lock connection error'));
    await lock.connect();
    try {
      await lock.query('SELECT pg_advisory_lock($1::bigint)', [lockKey('rebuild', live)]);
      await this.transaction(async (c) => {
        await lockDdl(c, live);
        // Holding the rebuild lock, any shadow of this collection was left by a crashed rebuild.
        for (const orphan of await shadowsOf(c, live)) await c.query(`DROP TABLE IF EXISTS ${orphan}`);
        await createTable(c, shadow, spec);
      });
      try {
        await fill(new PgCollection<T>(this.pool, shadow, spec, this.opts.log));
        await this.transaction((c) => swap(c, shadow, live, spec));
      } catch (err) {
        await this.pool.query(`DROP TABLE IF EXISTS ${shadow}`).catch((dropErr: unknown) => this.opts.log.warn({ err: dropErr, table: shadow }, 'document store: could not drop the shadow of a failed rebuild'));
        throw err;
      }
    } finally {
      await lock.end().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async transaction<R>(work: (c: PoolClient) => Promise<R>): Promise<R> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const result = await work(c);
      await c.query('COMMIT');
      return result;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }
}

class PgCollection<T extends Doc> implements Collection<T> {
  constructor(
    private readonly pool: Pool,
    private readonly table: string,
    private readonly spec: CollectionSpec,
    private readonly log: Logger,
  ) {}

  async upsert(doc: T): Promise<boolean> {
    const stored = prepareDoc(this.spec, doc);
    // ON CONFLICT locks the existing row and evaluates the WHERE on its latest version, so of two
    // racing writers only a newer version ever replaces the stored one.
    const { rowCount } = await this.pool.query(
      `INSERT INTO ${this.table} AS stored (id, version, body, updated_at) VALUES ($1, $2, $3::jsonb, now())
       ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, body = EXCLUDED.body, updated_at = EXCLUDED.updated_at
       WHERE stored.version < EXCLUDED.version`,
      [stored.id, stored.version, JSON.stringify(stored)],
    );
    return rowCount === 1;
  }

  async get(id: string): Promise<T | null> {
    // Prepared: the lookup behind every cache miss of a detail (platform/db/prepared.ts).
    const [row] = await runPrepared<{ body: T }>(this.pool, `SELECT body FROM ${this.table} WHERE id = $1`, [id]);
    return row?.body ?? null;
  }

  async delete(id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(`DELETE FROM ${this.table} WHERE id = $1`, [id]);
    return rowCount === 1;
  }

  async count(): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.table}`);
    return Number(rows[0]!.n);
  }

  async find(query: FindQuery): Promise<Page<T>> {
    const plan = planQuery(this.spec, query);
    const rows: T[] = [];
    for (const segment of plan.segments) {
      const { sql, params } = findSql(this.table, plan, segment, plan.limit + 1 - rows.length);
      this.log.trace({ sql, params }, 'document query');
      const result = await this.pool.query<{ body: T }>(sql, params);
      rows.push(...result.rows.map((r) => r.body));
      if (rows.length > plan.limit) break;
    }
    return toPage(plan, rows);
  }
}

// ORDER BY ... NULLS FIRST ascending and NULLS LAST descending is the port's order, and one index
// `(key ASC NULLS FIRST, id)` serves both directions (read backwards for desc). Each segment's
// condition is a single index range: a row comparison, or IS [NOT] NULL plus an id bound.
function findSql(table: string, plan: PlannedQuery, segment: Segment, limit: number): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const param = (value: unknown, type: IndexType | 'int') => {
    params.push(value);
    return `$${params.length}::${CAST[type]}`;
  };
  const where = plan.filters.map((f) => `${expr(f.field, f.type)} ${OPS[f.op]} ${param(f.value, f.type)}`);
  const { field, type, direction } = plan.sort;
  const key = expr(field, type);
  const cmp = direction === 'asc' ? '>' : '<';
  if (segment.kind === 'values' && field === 'id') {
    if (segment.after) where.push(`id ${cmp} ${param(segment.after.id, 'string')}`);
  } else if (segment.kind === 'values') {
    where.push(segment.after ? `(${key}, id) ${cmp} (${param(segment.after.value, type)}, ${param(segment.after.id, 'string')})` : `${key} IS NOT NULL`);
  } else if (segment.kind === 'nulls') {
    where.push(`${key} IS NULL`);
    if (segment.afterId !== undefined) where.push(`id ${cmp} ${param(segment.afterId, 'string')}`);
  }
  const order = field === 'id' ? `id ${direction}` : direction === 'asc' ? `${key} ASC NULLS FIRST, id ASC` : `${key} DESC NULLS LAST, id DESC`;
  const sql = `SELECT body FROM ${table}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ${param(limit, 'int')}`;
  return { sql, params };
}

const OPS = { eq: '=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
const CAST = { number: 'numeric', boolean: 'boolean', string: 'text', date: 'text', int: 'int' } as const;

function expr(field: string, type: IndexType): string {
  if (field === 'id') return 'id';
  const text = `(body->>'${field}')`;
  return type === 'number' ? `(${text}::numeric)` : type === 'boolean' ? `(${text}::boolean)` : `(${text} COLLATE "C")`;
}

async function createTable(c: PoolClient, table: string, spec: CollectionSpec): Promise<void> {
  await c.query(`CREATE TABLE IF NOT EXISTS ${table} (
    id text COLLATE "C" NOT NULL,
    version bigint NOT NULL,
    body jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ${ident(`${table}_pkey`)} PRIMARY KEY (id))`);
  // Not CONCURRENTLY (it cannot run in a transaction): declaring a new field on a large live
  // collection blocks its writes while the index builds; a rebuild avoids that.
  for (const { field, type } of spec.indexes) {
    await c.query(`CREATE INDEX IF NOT EXISTS ${indexOf(table, field, type)} ON ${table} (${expr(field, type)} ASC NULLS FIRST, id)`);
  }
}

// One transaction: other sessions see the old table until COMMIT and the new one after. A query
// that was waiting on the old table's lock looks the name up again once it gets the lock, and so
// reads the new table rather than failing.
async function swap(c: PoolClient, shadow: string, live: string, spec: CollectionSpec): Promise<void> {
  await lockDdl(c, live);
  await c.query(`DROP TABLE IF EXISTS ${live}`);
  await c.query(`ALTER TABLE ${shadow} RENAME TO ${live}`);
  await c.query(`ALTER INDEX ${ident(`${shadow}_pkey`)} RENAME TO ${ident(`${live}_pkey`)}`);
  for (const { field, type } of spec.indexes) {
    await c.query(`ALTER INDEX ${indexOf(shadow, field, type)} RENAME TO ${indexOf(live, field, type)}`);
  }
}

async function shadowsOf(c: PoolClient, live: string): Promise<string[]> {
  const { rows } = await c.query<{ name: string }>(
    `SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename ~ $1`,
    [`^${live}__shadow_[0-9a-f]{8}$`],
  );
  return rows.map((r) => r.name);
}

// CREATE ... IF NOT EXISTS is not safe against itself: two sessions can both see "missing" and
// one then fails on a catalog unique index. A transaction-scoped advisory lock per table
// serialises declarations and swaps across processes.
async function lockDdl(c: PoolClient, table: string): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey('ddl', table)]);
}

const tableOf = (name: string) => `doc_${name}`;
// The type is in the name: redeclaring a field with another type makes a new index rather than
// silently keeping one the new expression cannot use.
const indexOf = (table: string, field: string, type: IndexType) => ident(`${table}__${field}_${type[0]}`);
// Quoted, because field names are case-sensitive JSON keys and PostgreSQL folds unquoted names
// to lower case (`listedAt` and `listedat` would share one index name). Identifiers longer than
// 63 bytes would be truncated silently; shorten them predictably instead.
const ident = (name: string) => `"${name.length <= 63 ? name : `${name.slice(0, 54)}_${hash(name).slice(0, 8)}`}"`;
const hash = (s: string) => createHash('sha256').update(s).digest('hex');
// A signed 64-bit key for pg_advisory_*lock, passed as a string (pg sends it as bigint text).
const lockKey = (scope: string, table: string) => BigInt.asIntN(64, BigInt(`0x${hash(`junggo.documents.${scope}:${table}`).slice(0, 16)}`)).toString();

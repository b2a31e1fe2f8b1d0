import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createDocumentStore, type Collection, type Doc, type DocumentStore } from '../../src/platform/documents';
import { createLogger } from '../../src/platform/logger';
import { TEST_ENV } from '../support/env';
import { documentStoreContract, type StoreUnderTest } from './document-store.contract';

const log = createLogger('silent', 'test');

// Test clean-up only: the port has no drop on purpose.
const admin = new Pool({ connectionString: TEST_ENV.DATABASE_URL, max: 2 });
afterAll(() => admin.end());

async function dropPostgres(name: string): Promise<void> {
  const { rows } = await admin.query<{ t: string }>(
    `SELECT tablename AS t FROM pg_tables WHERE schemaname = current_schema() AND (tablename = $1 OR tablename LIKE $2)`,
    [`doc_${name}`, `doc_${name}\\_\\_shadow\\_%`],
  );
  for (const { t } of rows) await admin.query(`DROP TABLE IF EXISTS "${t}"`);
}

documentStoreContract('postgres', async (): Promise<StoreUnderTest> => ({
  store: await createDocumentStore({ databaseUrl: TEST_ENV.DATABASE_URL, log }),
  drop: dropPostgres,
}));

// No MongoDB, no Mongo suite: nothing is registered, so nothing is counted as passed.
const mongodbUrl = process.env.MONGODB_URL;
if (mongodbUrl) {
  documentStoreContract('mongodb', async (): Promise<StoreUnderTest> => {
    const store = await createDocumentStore({ databaseUrl: TEST_ENV.DATABASE_URL, mongodbUrl, log });
    return {
      store,
      drop: async (name) => {
        // The driver Mongoose ships (mongodb is not a dependency of its own).
        const { mongo } = await import('mongoose');
        const client = await mongo.MongoClient.connect(mongodbUrl);
        try {
          const db = client.db();
          const names = await db.listCollections({ name: { $regex: `^doc_${name}(__shadow_[0-9a-f]{8})?$` } }, { nameOnly: true }).toArray();
          for (const c of names) await db.dropCollection(c.name);
        } finally {
          await client.close();
        }
      },
    };
  });
}

interface Listing extends Doc {
  title?: string;
  price?: number;
  listedAt?: string;
}

describe('PostgresDocumentStore', () => {
  const queries: { sql: string; params: unknown[] }[] = [];
  let store: DocumentStore;
  beforeAll(async () => {
    // The adapter traces each find's SQL; capture it to ask the planner about the real query.
    const capture = { write: (line: string) => void queries.push(JSON.parse(line) as { sql: string; params: unknown[] }) };
    store = await createDocumentStore({ databaseUrl: TEST_ENV.DATABASE_URL, log: createLogger('trace', 'test', capture) });
  });
  afterAll(() => store.close());

  const uniqueName = () => {
    const name = `t_${randomBytes(6).toString('hex')}`;
    onTestFinished(() => dropPostgres(name));
    return name;
  };

  /** The plans of the queries one find() ran (a page may read two segments), as JSON. */
  async function plan(c: Collection<Listing>, query: Parameters<Collection<Listing>['find']>[0]): Promise<string> {
    queries.length = 0;
    await c.find(query);
    expect(queries.length).toBeGreaterThan(0);
    const client = await admin.connect();
    try {
      // On a small table a sequential scan (or a bitmap scan and a sort) is cheapest and the
      // planner rightly takes it; turning those off asks the real question: can this query be
      // read from the index, in index order? If not, the plan still scans or sorts, at a penalty.
      await client.query('BEGIN');
      await client.query('SET LOCAL enable_seqscan = off');
      await client.query('SET LOCAL enable_bitmapscan = off');
      await client.query('SET LOCAL enable_sort = off');
      const plans: unknown[] = [];
      for (const { sql, params } of queries) {
        const { rows } = await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
        plans.push(rows[0]!['QUERY PLAN']);
      }
      return JSON.stringify(plans);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  }

  it('when finding by a declared field, with or without a cursor, then the planner uses that field\'s expression index', async () => {
    const name = uniqueName();
    const c = await store.collection<Listing>({
      name,
      indexes: [
        { field: 'price', type: 'number' },
        { field: 'title', type: 'string' },
        { field: 'listedAt', type: 'date' },
      ],
    });
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        c.upsert({ id: `p${i}`, version: 1, price: i * 100, title: `상품 ${i}`, listedAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString() }),
      ),
    );
    await admin.query(`ANALYZE doc_${name}`);

    expect(await plan(c, { where: [{ field: 'price', op: 'gte', value: 5000 }], sort: { field: 'price', direction: 'asc' }, limit: 10 })).toContain(`"Index Name":"doc_${name}__price_n"`);
    expect(await plan(c, { where: [{ field: 'title', op: 'eq', value: '상품 42' }], limit: 10 })).toContain(`"Index Name":"doc_${name}__title_s"`);
    const byDate = { where: [{ field: 'listedAt', op: 'lt' as const, value: '2026-01-01T01:00:00Z' }], sort: { field: 'listedAt', direction: 'desc' as const }, limit: 10 };
    expect(await plan(c, byDate)).toContain(`"Index Name":"doc_${name}__listedAt_d"`);
    const { nextCursor } = await c.find(byDate);
    const second = await plan(c, { ...byDate, cursor: nextCursor! });
    expect(second).toContain(`"Index Name":"doc_${name}__listedAt_d"`);
    expect(second).not.toContain('"Node Type":"Sort"');
    expect(second).not.toContain('"Node Type":"Seq Scan"');
  });

  it('when paging descending past the last value into documents without one, then each page is still an ordered index range', async () => {
    const name = uniqueName();
    const c = await store.collection<Listing>({ name, indexes: [{ field: 'price', type: 'number' }] });
    await Promise.all(Array.from({ length: 60 }, (_, i) => c.upsert({ id: `p${String(i).padStart(2, '0')}`, version: 1, ...(i % 3 ? { price: i } : {}) })));
    const query = { sort: { field: 'price', direction: 'desc' as const }, limit: 7 };
    let cursor: string | undefined;
    const plans: string[] = [];
    do {
      plans.push(await plan(c, { ...query, cursor }));
      cursor = (await c.find({ ...query, cursor })).nextCursor ?? undefined;
    } while (cursor);
    expect(plans.length).toBe(Math.ceil(60 / 7));
    for (const p of plans) {
      expect(p).toContain(`"Index Name":"doc_${name}__price_n"`);
      expect(p).not.toContain('"Node Type":"Sort"');
      expect(p).not.toContain('"Node Type":"Seq Scan"');
    }
  });

  it('when two declared fields differ only in case, then each gets its own index', async () => {
    const name = uniqueName();
    await store.collection<Listing>({ name, indexes: [{ field: 'listedAt', type: 'date' }, { field: 'listedat', type: 'date' }] });
    const { rows } = await admin.query<{ i: string }>(`SELECT indexname AS i FROM pg_indexes WHERE tablename = $1 ORDER BY 1`, [`doc_${name}`]);
    expect(rows.map((r) => r.i)).toEqual([`doc_${name}__listedAt_d`, `doc_${name}__listedat_d`, `doc_${name}_pkey`]);
  });

  it('when rebuilds finish or fail, then no shadow table is left behind and the live indexes keep their names', async () => {
    const name = uniqueName();
    const spec = { name, indexes: [{ field: 'price', type: 'number' as const }] };
    await store.collection<Listing>(spec);
    await store.rebuild<Listing>(spec, async (shadow) => void (await shadow.upsert({ id: 'a', version: 1, price: 1 })));
    await expect(store.rebuild<Listing>(spec, async () => Promise.reject(new Error('fill failed')))).rejects.toThrow('fill failed');
    const { rows: tables } = await admin.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE tablename LIKE $1 ORDER BY 1`, [`doc_${name}%`]);
    expect(tables.map((r) => r.t)).toEqual([`doc_${name}`]);
    const { rows: indexes } = await admin.query<{ i: string }>(`SELECT indexname AS i FROM pg_indexes WHERE tablename = $1 ORDER BY 1`, [`doc_${name}`]);
    expect(indexes.map((r) => r.i)).toEqual([`doc_${name}__price_n`, `doc_${name}_pkey`]);
  });
});

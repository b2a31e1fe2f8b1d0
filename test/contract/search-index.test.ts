import { randomBytes } from 'node:crypto';
import { Client as Elasticsearch } from '@elastic/elasticsearch';
import { QueryTypes, Sequelize } from 'sequelize';
import { afterAll, describe, expect, it } from 'vitest';
import { createSequelize } from '../../src/platform/db/sequelize';
import { createLogger } from '../../src/platform/logger';
import { ElasticsearchSearchIndex, PostgresSearchIndex } from '../../src/platform/search';
import { SEARCH_INDEX_MAPPINGS, SEARCH_INDEX_SETTINGS } from '../../src/platform/search/elasticsearch-search-index';
import { TEST_ENV } from '../support/env';
import { ensureTestRole, withTestRolesLock } from '../support/read-only-replica';
import type { SearchQuery } from '../../src/platform/search';
import { HAPJEONG, listing, MANGWON, searchIndexContract, YEOKSAM } from './search-index.contract';

const log = createLogger('silent', 'test');
const sequelize = createSequelize({ url: TEST_ENV.DATABASE_URL, poolMax: 8 }, log);
afterAll(() => sequelize.close());

// Each test gets a copy of the live table (same columns, generated columns, indexes), so the
// suite never sees the component tests' listings nor they its.
searchIndexContract('postgres', async () => {
  const table = `search_t_${randomBytes(5).toString('hex')}`;
  await sequelize.query(`CREATE TABLE ${table} (LIKE search_documents INCLUDING ALL)`);
  return {
    index: new PostgresSearchIndex({ sequelize, table }),
    drop: async () => {
      await sequelize.query(`DROP TABLE IF EXISTS ${table}`);
    },
  };
});

const elasticsearchUrl = process.env.ELASTICSEARCH_URL;
if (elasticsearchUrl) {
  const client = new Elasticsearch({ node: elasticsearchUrl });
  afterAll(() => client.close());
  searchIndexContract('elasticsearch', async () => {
    const alias = `junggo-test-${randomBytes(5).toString('hex')}`;
    return {
      index: new ElasticsearchSearchIndex({ url: elasticsearchUrl, alias, refreshOnWrite: true, log, client }),
      drop: async () => {
        // By name: Elasticsearch 8 refuses wildcard deletes (action.destructive_requires_name).
        const indices = Object.keys(await client.indices.get({ index: `${alias}-*` }));
        if (indices.length) await client.indices.delete({ index: indices }, { ignore: [404] });
      },
    };
  });

  describe('elasticsearch: an index made with mapping version 2, before a rebuild', () => {
    it('when a listing is written and searched, then the write succeeds (the field is added in place) and words are matched as written until the rebuild', async () => {
      const alias = `junggo-test-${randomBytes(5).toString('hex')}`;
      const { search_compact: _, ...properties } = SEARCH_INDEX_MAPPINGS.properties!;
      await client.indices.create({ index: `${alias}-v2`, settings: SEARCH_INDEX_SETTINGS, mappings: { ...SEARCH_INDEX_MAPPINGS, _meta: { junggo_mapping_version: 2 }, properties }, aliases: { [alias]: {} } });
      try {
        const index = new ElasticsearchSearchIndex({ url: elasticsearchUrl, alias, refreshOnWrite: true, log, client });
        const iphone = listing({ title: '아이폰 14 프로' });
        expect(await index.index(iphone)).toBe(true);
        const ids = async (q: string) => (await index.search({ q, sort: 'recent', limit: 10 })).items.map((h) => h.doc.id);
        expect(await ids('아이폰')).toEqual([iphone.id]);
        expect(await ids('아이폰14')).toEqual([]);
        const mapping = await client.indices.getMapping({ index: `${alias}-v2` });
        expect(mapping[`${alias}-v2`]!.mappings.properties?.search_compact).toEqual({ type: 'wildcard' });
      } finally {
        await client.indices.delete({ index: `${alias}-v2` }, { ignore: [404] });
      }
    });
  });
} else {
  // Visible in every run's output; a skipped suite proves nothing about the adapter.
  describe('SearchIndex contract: elasticsearch', () => {
    it.skip('needs ELASTICSEARCH_URL (an Elasticsearch 8 node with analysis-nori); not run', () => undefined);
  });
}

// What the PostgreSQL adapter narrows a word by must hold wherever the word occurs, or a match is
// lost: a word without three letters or digits in a row by its 3-character pieces with punctuation
// (search_punct_grams, migration 0022). Random words placed in random text, seeded so a failure
// repeats.
describe('postgres: the pieces a word is narrowed by', () => {
  const alphabet = ['가', '방', '폰', 'a', 'B', 'z', '1', '5', '0', '.', '-', '+', '(', ')', '/', '%', '_', ',', '!', '[', ']'];
  let seed = 20261128;
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = () => alphabet[Math.floor(next() * alphabet.length)]!;
  const text = (n: number) => Array.from({ length: n }, () => (next() < 0.15 ? ' ' : pick())).join('');
  const noRunOf3 = (w: string) => !/[\p{L}\p{N}]{3}/u.test(w);

  it('when a word without three letters or digits in a row occurs in a text, then all its pieces are among the text’s, and it has at least one', async () => {
    const words: string[] = [];
    const texts: string[] = [];
    while (words.length < 2000) {
      const word = Array.from({ length: 3 + Math.floor(next() * 4) }, pick).join('');
      if (!noRunOf3(word)) continue;
      words.push(word);
      texts.push(`${text(Math.floor(next() * 8))}${word}${text(Math.floor(next() * 8))}`.replace(/\s+/g, ' ').trim());
    }
    const [row] = await sequelize.query<{ lost: string[]; empty: string[] }>(
      `SELECT array_agg(w) FILTER (WHERE NOT search_punct_grams(t) @> search_punct_grams(w)) AS lost,
              array_agg(w) FILTER (WHERE cardinality(search_punct_grams(w)) = 0) AS empty
         FROM unnest($1::text[], $2::text[]) AS x(w, t)`,
      { bind: [words, texts], type: QueryTypes.SELECT },
    );
    expect(row!.lost).toBeNull();
    expect(row!.empty).toBeNull();
  });
});

// Pages that will be cached until the next change announcement must come from the primary: a
// replica that has not replayed the write would let an old page (a hidden listing, an old price)
// be cached after the announcement. Uncached pages may come from the replica.
describe('postgres: what the read replica may answer', () => {
  const LAGGING = 'junggo_test_lagging';

  it('when the replica lags, then a page to be cached (fresh) and suggestions show a write at once, and an uncached page may not yet', async () => {
    const table = `search_t_${randomBytes(5).toString('hex')}`;
    await sequelize.query(`CREATE TABLE ${table} (LIKE search_documents INCLUDING ALL)`);
    // The "replica": a read-only role whose search path finds an empty copy of the table first,
    // as a standby that has replayed nothing yet would answer.
    await sequelize.query(`CREATE SCHEMA IF NOT EXISTS ${LAGGING}; CREATE TABLE ${LAGGING}.${table} (LIKE ${table} INCLUDING ALL)`);
    await withTestRolesLock((admin) => ensureTestRole(admin, LAGGING, { default_transaction_read_only: 'on', search_path: `${LAGGING}, public` }));
    const replicaUrl = new URL(TEST_ENV.DATABASE_URL);
    replicaUrl.username = LAGGING;
    const withReplica = createSequelize({ url: TEST_ENV.DATABASE_URL, replicaUrl: replicaUrl.toString(), poolMax: 2 }, log);
    try {
      const index = new PostgresSearchIndex({ sequelize: withReplica, table });
      const doc = { ...listing({ title: '캠핑 의자 복제지연' }) };
      expect(await index.index(doc)).toBe(true);
      const query = { q: '복제지연', sort: 'recent' as const, limit: 10 };
      expect((await index.search(query, { fresh: true })).items.map((h) => h.doc.id)).toEqual([doc.id]);
      expect((await index.search(query)).items).toEqual([]);
      expect(await index.suggest('캠핑', 5)).toEqual([{ text: '캠핑 의자 복제지연' }]);
    } finally {
      await withReplica.close();
      await sequelize.query(`DROP TABLE IF EXISTS ${LAGGING}.${table}; DROP TABLE IF EXISTS ${table}`);
    }
  });
});

describe('postgres: a rebuild keeps what CREATE TABLE … LIKE leaves out', () => {
  it('when the table has statistics samples on its columns and an extended statistics object, then the rebuilt table has them, under the same names', async () => {
    const table = `search_t_${randomBytes(5).toString('hex')}`;
    await sequelize.query(`CREATE TABLE ${table} (LIKE search_documents INCLUDING ALL)`);
    try {
      await sequelize.query(`ALTER TABLE ${table} ALTER COLUMN search_compact SET STATISTICS 1000`);
      await sequelize.query(`CREATE STATISTICS ${table}_title_stats ON (lower(title)) FROM ${table}`);
      await sequelize.query(`ALTER STATISTICS ${table}_title_stats SET STATISTICS 500`);
      const index = new PostgresSearchIndex({ sequelize, table });
      await index.rebuild(async (shadow) => void (await shadow.index(listing({ title: '재구축 통계' }))));
      const read = async (sql: string) => sequelize.query(sql, { bind: [table], type: QueryTypes.SELECT });
      expect(await read(`SELECT attname, attstattarget FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'search_compact'`)).toEqual([{ attname: 'search_compact', attstattarget: 1000 }]);
      expect(await read(`SELECT stxname, stxstattarget FROM pg_statistic_ext WHERE stxrelid = to_regclass($1) AND stxname LIKE '%title_stats'`)).toEqual([{ stxname: `${table}_title_stats`, stxstattarget: 500 }]);
      expect((await index.search({ q: '재구축', sort: 'recent', limit: 5 })).items.map((h) => h.doc.title)).toEqual(['재구축 통계']);
    } finally {
      await sequelize.query(`DROP TABLE IF EXISTS ${table}`);
    }
  });
});

// Nearest first from a point over a wide radius is never cached: it must not read every listing
// in the radius on each request (hundreds of dongs, tens of thousands of listings at 20 km).
describe('postgres: nearest first over dongs with their points', () => {
  /** Rows the plan read from `table`, from EXPLAIN ANALYZE of the SQL the adapter ran. */
  const rowsRead = async (sql: string, bind: unknown[], table: string): Promise<number> => {
    type Node = { 'Relation Name'?: string; 'Actual Rows': number; 'Actual Loops': number; 'Rows Removed by Filter'?: number; Plans?: Node[] };
    const [row] = await sequelize.query<{ 'QUERY PLAN': [{ Plan: Node }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, { bind, type: QueryTypes.SELECT });
    const sum = (n: Node): number =>
      (n['Relation Name'] === table ? (n['Actual Rows'] + (n['Rows Removed by Filter'] ?? 0)) * n['Actual Loops'] : 0) + (n.Plans ?? []).reduce((s, c) => s + sum(c), 0);
    return sum(row!['QUERY PLAN'][0].Plan);
  };

  it('when the nearest dongs fill the page, then the farther dongs\' listings are not read', async () => {
    const table = `search_t_${randomBytes(5).toString('hex')}`;
    await sequelize.query(`CREATE TABLE ${table} (LIKE search_documents INCLUDING ALL)`);
    const ran: { sql: string; bind: unknown[] }[] = [];
    const logged = new Sequelize(TEST_ENV.DATABASE_URL, {
      dialect: 'postgres',
      pool: { max: 2 },
      logging: (sql: string, opts?: unknown) => void ran.push({ sql: sql.replace(/^Executing \([^)]*\): /, ''), bind: (opts as { bind?: unknown[] } | undefined)?.bind ?? [] }),
    });
    try {
      const index = new PostgresSearchIndex({ sequelize: logged, table });
      for (const doc of [...Array.from({ length: 3 }, () => listing({ ...MANGWON })), listing({ ...HAPJEONG })]) await index.index(doc);
      // 역삼's many, and listings in 500 other dongs, so that the planner sees dongs as narrow
      // (as they are: ~3,500 of them) and plans by the dong index, as on a real table.
      await sequelize.query(
        `INSERT INTO ${table} (id, version, seller_id, title, category_id, category_path, price, condition, dong_code, lat, lng, status, bumped_at, created_at, title_norm, search_text)
         SELECT 'prd_F' || lpad(g::text, 8, '0'), 1, 'usr_S', '먼 곳', 'cat_F', 'furniture/chair/', 1000, 'used',
                CASE WHEN g <= 150 THEN $1 ELSE 'X' || (g % 500) END, $2, $3, 'on_sale', now(), now(), '먼 곳', '먼 곳'
           FROM generate_series(1, 5150) g`,
        { bind: [YEOKSAM.dongCode, YEOKSAM.lat, YEOKSAM.lng] },
      );
      await sequelize.query(`ANALYZE ${table}`);
      const dongs = [MANGWON, HAPJEONG, YEOKSAM];
      ran.length = 0;
      const page = await index.search({
        sort: 'distance',
        limit: 2,
        origin: MANGWON,
        dongCodes: dongs.map((d) => d.dongCode),
        dongPoints: dongs.map(({ dongCode, lat, lng }) => ({ code: dongCode, lat, lng })),
      });
      expect(page.items).toHaveLength(2);
      const { sql, bind } = ran.at(-1)!;
      // 망원's three, and 합정's one (an incremental sort reads one row past the group it completes);
      // ordering every listing in the dongs read all 154.
      expect(await rowsRead(sql, bind, table)).toBeLessThanOrEqual(4);
    } finally {
      await logged.close();
      await sequelize.query(`DROP TABLE IF EXISTS ${table}`);
    }
  });

  it('when distances are read, from the dong walk or from the rows, then they are earthdistance\'s earth_distance to the last bit', async () => {
    // The adapter computes them without ll_to_earth's domain checks; the cursors compare them.
    const table = `search_t_${randomBytes(5).toString('hex')}`;
    await sequelize.query(`CREATE TABLE ${table} (LIKE search_documents INCLUDING ALL)`);
    try {
      const index = new PostgresSearchIndex({ sequelize, table });
      const dongs = await sequelize.query<{ code: string; lat: number; lng: number }>(
        'SELECT code, lat, lng FROM dongs ORDER BY md5(code) LIMIT 150', { type: QueryTypes.SELECT });
      expect(dongs).toHaveLength(150);
      for (const d of dongs) await index.index(listing({ dongCode: d.code, lat: d.lat, lng: d.lng }));
      const origin = { lat: 36.3504, lng: 127.3845 };
      const expected = new Map((await sequelize.query<{ id: string; distance: number }>(
        `SELECT id, earth_distance(ll_to_earth(lat, lng), ll_to_earth($1, $2)) AS distance FROM ${table}`,
        { bind: [origin.lat, origin.lng], type: QueryTypes.SELECT },
      )).map((r) => [r.id, r.distance]));
      const base = { sort: 'distance' as const, limit: 100, origin, dongCodes: dongs.map((d) => d.code) };
      const read = async (query: SearchQuery) => {
        const got = new Map<string, number | undefined>();
        let cursor: string | undefined;
        do {
          const page = await index.search({ ...query, ...(cursor ? { cursor } : {}) });
          for (const h of page.items) got.set(h.doc.id, h.distanceMeters);
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        return got;
      };
      expect(await read({ ...base, dongPoints: dongs })).toEqual(expected);
      expect(await read(base)).toEqual(expected);
      const { dongCodes: _, ...near } = { ...base, near: { ...origin, radiusMeters: 2_000_000 } };
      expect(await read(near)).toEqual(expected);
    } finally {
      await sequelize.query(`DROP TABLE IF EXISTS ${table}`);
    }
  });
});

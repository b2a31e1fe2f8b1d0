import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimilarityRepository, latestInteractions, SCORE_BATCH, SIMILARITY } from '../../../src/modules/engagement/data/similarity-repository';
import { newId } from '../../../src/modules/users/domain/ids';
import { quickAccounts } from '../../support/accounts';
import { createListing, listingInput, sellerWithNeighbourhood, type Seller } from '../../support/catalog';
import { raw } from '../../support/http';
import { startEngagementStack, type EngagementStack } from '../../support/engagement';
import type { IdentityStack } from '../../support/identity';
import { waitFor } from '../../support/wait';

// The worker recomputes item similarity every second (support/engagement.ts).
let env: EngagementStack;
let stack: IdentityStack;

beforeAll(async () => {
  env = await startEngagementStack();
  ({ stack } = env);
});
afterAll(() => env?.stop());

// What the reads were before they walked each table (2026-11-28): the latest N of the grouped view,
// with the tie-break the new reads use (it had none: rows of the same time, such as one day's
// views, came in any order).
const GROUPED_LATEST_ITEMS = 'SELECT product_id AS id, weight FROM product_interactions WHERE user_id = $1 AND product_id <> $3 ORDER BY at DESC, product_id DESC LIMIT $2';
const GROUPED_LATEST_USERS = 'SELECT user_id AS id, weight FROM product_interactions WHERE product_id = $1 ORDER BY at DESC, user_id DESC LIMIT $2';
const GROUPED_SCORE_BATCH = `
  INSERT INTO similarity_batch (i, j, score, co_users)
  WITH d AS (SELECT DISTINCT unnest($1::text[]) AS i),
  iu AS (
    SELECT d.i, x.user_id, x.weight
      FROM d CROSS JOIN LATERAL (
        SELECT user_id, weight FROM product_interactions WHERE product_id = d.i ORDER BY at DESC, user_id DESC LIMIT $2) x
  ),
  co AS (
    SELECT iu.i, y.product_id AS j, sum(iu.weight * y.weight) AS dot, count(*)::int AS co_users
      FROM iu CROSS JOIN LATERAL (
        SELECT product_id, weight FROM product_interactions WHERE user_id = iu.user_id AND product_id <> iu.i ORDER BY at DESC, product_id DESC LIMIT $3) y
     GROUP BY iu.i, y.product_id
  ),
  items AS (SELECT i AS p FROM d UNION SELECT j FROM co),
  norms AS (
    SELECT items.p, (SELECT sqrt(x.sq_sum) FROM item_norms x WHERE x.product_id = items.p) AS n FROM items
  )
  SELECT co.i, co.j, (co.dot / (ni.n * nj.n) * co.co_users / (co.co_users + $4))::real AS score, co.co_users
    FROM co JOIN norms ni ON ni.p = co.i JOIN norms nj ON nj.p = co.j
   WHERE ni.n > 0 AND nj.n > 0 AND co.co_users >= $5`;

/**
 * A schema of its own with empty copies (indexes included, no keys, no triggers) of the tables the
 * recommender reads and writes, and of the view product_interactions over them: the test fills them
 * at will, nothing else reads them. `client` and `sequelize` (logging to `logging`) resolve names
 * there first.
 */
async function scratchSchema(logging: (sql: string, opts?: unknown) => void = () => undefined) {
  const schema = `sim_t_${randomBytes(4).toString('hex')}`;
  const client = new Client({ connectionString: stack.api.config.DATABASE_URL });
  await client.connect();
  // Read before the search path changes, so that it names the tables unqualified.
  const view = (await client.query<{ def: string }>("SELECT pg_get_viewdef('public.product_interactions'::regclass) AS def")).rows[0]!.def;
  const tables = ['product_views', 'product_likes', 'product_purchases', 'item_norms', 'item_similarity', 'similarity_dirty_items', 'products'];
  await client.query(`CREATE SCHEMA ${schema}; SET search_path TO ${schema}, public`);
  for (const table of tables) await client.query(`CREATE TABLE ${table} (LIKE public.${table} INCLUDING ALL)`);
  await client.query(`CREATE VIEW product_interactions AS ${view}`);
  // The sellers the reads check (SELLER_IN_FORCE): only the columns the check reads; the tests add their own sellers.
  await client.query('CREATE TABLE users (id text PRIMARY KEY, status text NOT NULL, suspended_until timestamptz)');
  const sequelize = new Sequelize(stack.api.config.DATABASE_URL, {
    logging,
    pool: { max: 2 },
    hooks: { afterConnect: async (c) => void (await (c as unknown as Client).query(`SET search_path TO ${schema}, public`)) },
  });
  return {
    client,
    sequelize,
    async analyze() {
      for (const table of tables) await client.query(`ANALYZE ${table}`);
    },
    async drop() {
      await sequelize.close();
      await client.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
      await client.end();
    },
  };
}

/**
 * Random views, likes and purchases of `users` × `items` (each pair with the given chance of
 * each), repeatable by `seed`: views fall on 7 days (many ties), likes and purchases on whole
 * hours of the same days (ties among them and with views at midnight).
 */
async function randomHistories(client: Client, o: { seed: number; users: number; items: number; views: number; likes: number; purchases: number }) {
  const pairs = `FROM generate_series(1, ${o.users}) u, generate_series(1, ${o.items}) i`;
  const ids = `'u' || lpad(u::text, 2, '0'), 'i' || lpad(i::text, 2, '0')`;
  const hour = `timestamptz '2026-11-01 00:00+09' + (random() * 150)::int * interval '1 hour'`;
  await client.query('SELECT setseed($1)', [o.seed]);
  await client.query(`
    INSERT INTO product_views SELECT ${ids}, date '2026-11-01' + (random() * 6)::int ${pairs} WHERE random() < ${o.views};
    INSERT INTO product_likes SELECT ${ids}, ${hour} ${pairs} WHERE random() < ${o.likes};
    INSERT INTO product_purchases SELECT ${ids}, ${hour} ${pairs} WHERE random() < ${o.purchases}`);
}

interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}
const SIGNAL_TABLES = new Set(['product_views', 'product_likes', 'product_purchases']);

/** Rows the statement reads from the three signal tables (EXPLAIN ANALYZE: kept or filtered out, every loop). */
async function signalRowsRead(client: Client, sql: string, bind: unknown[]): Promise<number> {
  const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, bind);
  const sum = (n: PlanNode): number =>
    (n['Relation Name'] && SIGNAL_TABLES.has(n['Relation Name']) ? (n['Actual Rows'] + (n['Rows Removed by Filter'] ?? 0)) * n['Actual Loops'] : 0) +
    (n.Plans ?? []).reduce((s, c) => s + sum(c), 0);
  return sum((rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan);
}

describe('the recommender\'s "latest N" reads', () => {
  it('when histories are read table by table, then they are the latest N of product_interactions (N from 1 to past the longest history), both ways, with the same ids, order and weights: rows of the same day, and a like or purchase older than the latest N of its table, included', async () => {
    const scratch = await scratchSchema();
    try {
      const { client } = scratch;
      await randomHistories(client, { seed: 0.31, users: 12, items: 60, views: 0.5, likes: 0.3, purchases: 0.1 });
      await scratch.analyze();
      const users = (await client.query<{ id: string }>('SELECT DISTINCT user_id AS id FROM product_interactions ORDER BY 1')).rows.map((r) => r.id);
      const items = (await client.query<{ id: string }>('SELECT DISTINCT product_id AS id FROM product_interactions ORDER BY 1')).rows.map((r) => r.id);
      expect(users.length).toBe(12);
      // The cases that need a probe: an id whose strongest row is older than the latest few of its table.
      const { rows: probed } = await client.query(`
        SELECT count(*)::int AS n FROM product_views v JOIN product_likes l USING (user_id, product_id) WHERE v.viewed_on::timestamptz > l.created_at`);
      expect(probed[0].n).toBeGreaterThan(20);

      const read = async (sql: string, bind: unknown[]) => (await client.query<{ id: string; weight: number }>(sql, bind)).rows.map((r) => `${r.id}:${r.weight}`);
      const itemsOf = latestInteractions('user', '$1', '$2', '$3');
      const usersOf = latestInteractions('item', '$1', '$2');
      let compared = 0;
      for (const n of [1, 2, 3, 5, 8, 13, 21, 40, 70]) {
        for (const [k, user] of users.entries()) {
          const except = items[(k * 7) % items.length]!;
          const expected = await read(GROUPED_LATEST_ITEMS, [user, n, except]);
          expect(await read(itemsOf, [user, n, except])).toEqual(expected);
          compared += expected.length;
        }
        for (const item of items) {
          const expected = await read(GROUPED_LATEST_USERS, [item, n]);
          expect(await read(usersOf, [item, n])).toEqual(expected);
          compared += expected.length;
        }
      }
      expect(compared).toBeGreaterThan(4_000);
    } finally {
      await scratch.drop();
    }
  });

  it('when a batch of items is scored, then the table-by-table reads give the very pairs, co-user counts and scores the grouped view gave, with caps that cut the histories and caps that do not', async () => {
    const scratch = await scratchSchema();
    try {
      const { client } = scratch;
      await randomHistories(client, { seed: 0.57, users: 30, items: 40, views: 0.4, likes: 0.25, purchases: 0.08 });
      await client.query('INSERT INTO item_norms SELECT product_id, sum(weight::double precision * weight) FROM product_interactions GROUP BY product_id');
      await scratch.analyze();
      const items = (await client.query<{ id: string }>('SELECT product_id AS id FROM item_norms ORDER BY 1')).rows.map((r) => r.id);

      const scored = async (sql: string, bind: unknown[]) => {
        await client.query('BEGIN');
        try {
          await client.query('CREATE TEMP TABLE similarity_batch (i text, j text, score real, co_users integer) ON COMMIT DROP');
          await client.query(sql, bind);
          return (await client.query('SELECT i, j, score, co_users FROM similarity_batch ORDER BY i, j')).rows;
        } finally {
          await client.query('ROLLBACK');
        }
      };
      for (const [usersPerItem, itemsPerUser, minCoUsers] of [[3, 4, 1], [8, 10, 2], [SIMILARITY.usersPerItem, SIMILARITY.itemsPerUser, SIMILARITY.minCoUsers]] as const) {
        const bind = [items, usersPerItem, itemsPerUser, SIMILARITY.shrinkage, minCoUsers];
        const expected = await scored(GROUPED_SCORE_BATCH, bind);
        expect(expected.length).toBeGreaterThan(100);
        expect(await scored(SCORE_BATCH, bind)).toEqual(expected);
      }
    } finally {
      await scratch.drop();
    }
  });

  it('when a user\'s history and a listing\'s viewers grow from 12,000 to 36,000, then recommendations and the similarity job read the same few rows of the signal tables (EXPLAIN ANALYZE), while the grouped view read them all', async () => {
    const ran: { sql: string; bind: unknown[] }[] = [];
    const scratch = await scratchSchema((sql, opts) =>
      ran.push({ sql: sql.replace(/^Executing \([^)]*\): /, ''), bind: (opts as { bind?: unknown[] } | undefined)?.bind ?? [] }),
    );
    try {
      const { client } = scratch;
      const repo = createSimilarityRepository(scratch.sequelize);
      // usr_heavy viewed every listing prd_h…, liked one in ten, bought one in 25; each is similar to
      // one of 50 others on sale (so that the reads have something to rank). prd_hub was viewed by
      // every usr_v…, one in ten of whom liked it. prd_target: liked by usr_heavy and three others.
      const listings = (ids: string) =>
        `INSERT INTO products (id, seller_id, title, category_id, price, condition, trade_methods, dong_code, lat, lng)
         SELECT ${ids}, 'usr_seller', '상품', (SELECT min(id) FROM categories WHERE depth > 0), 10000, 'used', '{meet_up}', (SELECT min(code) FROM dongs), 37.5, 126.9`;
      await client.query("INSERT INTO users (id, status) VALUES ('usr_seller', 'active')");
      await client.query(`${listings("'prd_s' || g")} FROM generate_series(0, 49) g`);
      const grow = async (from: number, to: number) => {
        for (const sql of [
          `${listings("'prd_h' || lpad(g::text, 6, '0')")} FROM generate_series($1::int, $2::int) g`,
          "INSERT INTO item_similarity (product_id, similar_id, score, co_users) SELECT 'prd_h' || lpad(g::text, 6, '0'), 'prd_s' || g % 50, 0.5, 3 FROM generate_series($1::int, $2::int) g",
          "INSERT INTO product_views SELECT 'usr_heavy', 'prd_h' || lpad(g::text, 6, '0'), current_date - 1 - g % 365 FROM generate_series($1::int, $2::int) g",
          "INSERT INTO product_likes SELECT 'usr_heavy', 'prd_h' || lpad(g::text, 6, '0'), now() - interval '1 day' - g * interval '1 minute' FROM generate_series($1::int, $2::int) g WHERE g % 10 = 0",
          "INSERT INTO product_purchases SELECT 'usr_heavy', 'prd_h' || lpad(g::text, 6, '0'), now() - interval '1 day' - g * interval '1 minute' FROM generate_series($1::int, $2::int) g WHERE g % 25 = 0",
          "INSERT INTO product_views SELECT 'usr_v' || lpad(g::text, 6, '0'), 'prd_hub', current_date - 1 - g % 365 FROM generate_series($1::int, $2::int) g",
          "INSERT INTO product_likes SELECT 'usr_v' || lpad(g::text, 6, '0'), 'prd_hub', now() - interval '1 day' - g * interval '1 minute' FROM generate_series($1::int, $2::int) g WHERE g % 10 = 0",
        ])
          await client.query(sql, [from, to]);
        await scratch.analyze();
      };
      await client.query(`
        INSERT INTO product_likes (user_id, product_id) SELECT u, 'prd_target' FROM unnest(ARRAY['usr_heavy', 'usr_a', 'usr_b', 'usr_c']) u;
        INSERT INTO product_likes (user_id, product_id) SELECT u, p FROM unnest(ARRAY['usr_a', 'usr_b', 'usr_c']) u, unnest(ARRAY['prd_x', 'prd_y']) p`);

      const measure = async () => {
        ran.length = 0;
        expect(await repo.forUser('usr_heavy', 20)).not.toEqual([]);
        expect(await repo.userCategories('usr_heavy')).not.toEqual([]);
        const claim = { ids: ['prd_target', 'prd_hub'], tokens: [new Date().toISOString(), new Date().toISOString()] };
        // The worker of this stack may hold the job's lock for a moment.
        await waitFor('the recompute', () => repo.recompute(claim));
        const reads = ran.filter((r) => /product_(views|likes|purchases|interactions)/.test(r.sql));
        expect(reads).toHaveLength(3);
        const [forUser, categories, score] = reads as [(typeof reads)[number], (typeof reads)[number], (typeof reads)[number]];
        expect(score.sql).toContain('INSERT INTO similarity_batch');
        await client.query('BEGIN');
        try {
          await client.query('CREATE TEMP TABLE similarity_batch (i text, j text, score real, co_users integer) ON COMMIT DROP');
          return {
            forUser: await signalRowsRead(client, forUser.sql, forUser.bind),
            categories: await signalRowsRead(client, categories.sql, categories.bind),
            score: await signalRowsRead(client, score.sql, score.bind),
            groupedSeeds: await signalRowsRead(client, 'SELECT product_id, weight FROM product_interactions WHERE user_id = $1 ORDER BY at DESC LIMIT 30', ['usr_heavy']),
            groupedScore: await signalRowsRead(client, GROUPED_SCORE_BATCH, score.bind),
          };
        } finally {
          await client.query('ROLLBACK');
        }
      };

      await grow(1, 12_000);
      const small = await measure();
      await grow(12_001, 36_000);
      const large = await measure();

      // Each table walked to its cap, plus a primary-key probe of likes and purchases per id kept.
      for (const m of [small, large]) {
        expect(m.forUser).toBeLessThanOrEqual(5 * SIMILARITY.seedsPerUser);
        expect(m.categories).toBeLessThanOrEqual(5 * SIMILARITY.categorySeedsPerUser);
      }
      expect(large.forUser).toBeLessThanOrEqual(small.forUser);
      expect(large.categories).toBeLessThanOrEqual(small.categories);
      // The hub's latest 1,000 users and each user's latest 200 items, whatever lies behind them.
      expect(large.score).toBeLessThanOrEqual(10_000);
      expect(large.score).toBeLessThanOrEqual(1.05 * small.score);
      // The grouped view read every row of the user and of the hub, each time.
      expect(small.groupedSeeds).toBeGreaterThanOrEqual(12_000);
      expect(large.groupedSeeds).toBeGreaterThanOrEqual(36_000);
      expect(large.groupedScore).toBeGreaterThanOrEqual(2.5 * small.groupedScore);
    } finally {
      await scratch.drop();
    }
  });
});

describe('stored neighbour lists (item_similarity)', () => {
  let seller: Seller;
  beforeAll(async () => {
    seller = await sellerWithNeighbourhood(stack, 'simsel');
  });

  const stored = async (productId: string): Promise<string[]> =>
    (await stack.db.query('SELECT similar_id FROM item_similarity WHERE product_id = $1 ORDER BY score DESC, similar_id', [productId])).rows.map((r) => r.similar_id as string);
  const holders = async (productId: string): Promise<number> => Number((await stack.db.query('SELECT count(*) FROM item_similarity WHERE similar_id = $1', [productId])).rows[0]!.count);
  const similar = async (productId: string): Promise<string[]> => {
    const res = await raw(`${stack.api.url}/v1/products/${productId}/similar?limit=30`);
    expect(res.status).toBe(200);
    return (res.json.data as { id: string }[]).map((p) => p.id);
  };
  /** Once nothing of these is waiting for the similarity job (it is off the list only after its recompute commits). */
  const recomputed = (ids: string[]) =>
    waitFor('the recompute', async () => Number((await stack.db.query('SELECT count(*) FROM similarity_dirty_items WHERE product_id = ANY($1)', [ids])).rows[0]!.count) === 0, 20_000);
  /** Once the listing's `n`th event of this type has been handled for the similarity model. */
  const handled = (productId: string, type: string, n = 1) =>
    waitFor(`${type} ${n} of ${productId} handled by engagement.similarity-listing-state`, async () => {
      const { rows } = await stack.db.query(
        `SELECT count(*) FROM inbox i JOIN events e ON e.id = i.event_id
          WHERE i.subscriber = 'engagement.similarity-listing-state' AND e.aggregate_id = $1 AND e.type = $2`,
        [productId, type],
      );
      return Number(rows[0]!.count) >= n;
    });
  const call = (method: string, path: string, body?: unknown) =>
    raw(`${stack.api.url}/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${seller.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const setStatus = async (productId: string, status: string) => expect((await call('POST', `/products/${productId}/status`, { status })).status).toBe(200);

  it('when 30 sold listings outrank the on-sale ones among a listing\'s neighbours, then its 30 places go to on-sale ones (sold listings keep lists of their own); when the best of them is sold, or one is hidden, flagged or deleted, it leaves every list and the next one takes its place; back on sale, it comes back', async () => {
    // target, 30 sold listings and z liked by 5, 4 and 4 of the same people, 30 more on sale by 3 of
    // them: the sold ones are target's best neighbours, then z, then the 30 (equal, by id).
    const z = await createListing(stack, seller.token);
    const ids = Array.from({ length: 61 }, () => newId('prd'));
    const target = ids[0]!;
    const sold = ids.slice(1, 31);
    const live = ids.slice(31).sort();
    // Copies of z's row as the API wrote it, without the ceremony of 61 posts.
    await stack.db.query(
      `INSERT INTO products
       SELECT (jsonb_populate_record(NULL::products, to_jsonb(p) || jsonb_build_object('id', c.id, 'status', c.status, 'title', p.title || ' ' || c.id))).*
         FROM products p, unnest($2::text[], $3::text[]) AS c(id, status) WHERE p.id = $1`,
      [z.id, ids, ids.map((id) => (sold.includes(id) ? 'sold' : 'on_sale'))],
    );
    const people = (await quickAccounts(stack.api.config, 5, 'sim')).map((u) => u.id);
    const likes = [
      ...[target, ...sold].flatMap((p) => people.map((u) => [u, p])),
      ...people.slice(0, 4).map((u) => [u, z.id]),
      ...live.flatMap((p) => people.slice(0, 3).map((u) => [u, p])),
    ];
    await stack.db.query('INSERT INTO product_likes (user_id, product_id) SELECT * FROM unnest($1::text[], $2::text[])', [likes.map((l) => l[0]), likes.map((l) => l[1])]);
    await stack.db.query('INSERT INTO similarity_dirty_items (product_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING', [[z.id, ...ids]]);

    const all = [z.id, ...ids];
    await recomputed(all);
    const firstLive = [z.id, ...live.slice(0, 29)];
    expect(await stored(target)).toEqual(firstLive);
    expect(await similar(target)).toEqual(firstLive);
    expect(Number((await stack.db.query('SELECT count(*) FROM item_similarity WHERE similar_id = ANY($1)', [sold])).rows[0]!.count)).toBe(0);
    // A sold listing still has neighbours of its own (its `similar`, a buyer's seeds), all on sale.
    expect(await stored(sold[0]!)).toEqual([target, z.id, ...live.slice(0, 28)]);

    // z is sold: out of every list, the 30th on-sale neighbour moves up; z keeps its own list.
    await setStatus(z.id, 'sold');
    await handled(z.id, 'product.status_changed');
    await recomputed(all);
    expect(await stored(target)).toEqual(live);
    expect(await holders(z.id)).toBe(0);
    expect(await similar(target)).toEqual(live);
    expect(await stored(z.id)).toEqual([target, ...live.slice(0, 29)]);

    // Hidden, then back on sale.
    await setStatus(live[0]!, 'hidden');
    await handled(live[0]!, 'product.status_changed', 1);
    await recomputed(all);
    expect(await stored(target)).toEqual(live.slice(1));
    expect(await holders(live[0]!)).toBe(0);
    await setStatus(live[0]!, 'on_sale');
    await handled(live[0]!, 'product.status_changed', 2);
    await recomputed(all);
    expect(await stored(target)).toEqual(live);
    expect(await similar(target)).toEqual(live);

    // An edit that sends a listing to the review queue, and a deletion, take them out the same way.
    const flagged = await call('PUT', `/products/${live[1]}`, listingInput({ description: '궁금하신 점은 카톡 아이디 mangwon77 로 연락주세요', shipping_fee: 0, quantity: 1 }));
    expect([flagged.status, flagged.json.moderation]).toEqual([200, 'flagged']);
    await handled(live[1]!, 'product.updated');
    expect((await call('DELETE', `/products/${live[2]}`)).status).toBe(204);
    await handled(live[2]!, 'product.deleted');
    await recomputed(all);
    expect(await stored(target)).toEqual([live[0], ...live.slice(3)]);
    expect([await holders(live[1]!), await holders(live[2]!)]).toEqual([0, 0]);
  }, 120_000);
});

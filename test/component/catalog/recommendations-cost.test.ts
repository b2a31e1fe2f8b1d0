import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECOMMENDABLE } from '../../../src/modules/engagement/data/listing-reader';
import { POPULAR_SLICE_SQL, POPULAR_SQL, STILL_RECOMMENDABLE_SQL } from '../../../src/modules/engagement/data/similarity-repository';
import { createViewStore } from '../../../src/modules/engagement/data/view-store';
import { createViewFlushRepository } from '../../../src/modules/engagement/data/view-flush-repository';
import { viewUseCases } from '../../../src/modules/engagement/domain/views';
import { flushViewsJob } from '../../../src/modules/engagement/jobs';
import { newId } from '../../../src/modules/users/domain/ids';
import { quickAccounts } from '../../support/accounts';
import { createListing, sellerWithNeighbourhood } from '../../support/catalog';
import { v1Caller } from '../../support/http';
import { startEngagementStack, type EngagementStack } from '../../support/engagement';
import type { IdentityStack } from '../../support/identity';
import { waitFor } from '../../support/wait';

// The worker recomputes item similarity every second and never flushes views on its own (the
// tests flush when they need to).
let env: EngagementStack;
let stack: IdentityStack;
let redis: EngagementStack['redis'];
let sequelize: EngagementStack['sequelize'];
let log: EngagementStack['log'];

beforeAll(async () => {
  env = await startEngagementStack();
  ({ stack, redis, sequelize, log } = env);
});
afterAll(() => env?.stop());

interface Caller {
  id: string;
  token: string;
}
const call = v1Caller(() => stack.api.url);
const recommended = async (user: Caller, limit = 20): Promise<string[]> => {
  const { data, error } = await stack.api.client({ token: user.token }).GET('/users/me/recommendations', { params: { query: { limit } } });
  if (error) throw new Error(`recommendations failed: ${JSON.stringify(error)}`);
  return data.data.map((p) => p.id);
};

/** Users without the sign-up ceremony (support/accounts.ts), for tests that need many. */
const buyers = (n: number): Promise<Caller[]> => quickAccounts(stack.api.config, n, 'reco');

const refreshPopularLists = () => env.refreshPopularLists();

const norm = async (productId: string): Promise<number | null> => {
  const { rows } = await stack.db.query('SELECT sq_sum FROM item_norms WHERE product_id = $1', [productId]);
  return rows[0] ? Number(rows[0].sq_sum) : null;
};

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Loops'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}
const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];

describe('GET /v1/users/me/recommendations, the popular fallback', () => {
  it('when users without a history of their own ask, then the shared popular list of their neighbourhood is served to all of them for a while, filtered for each: never their own listings, nor a listing sold since; a listing that became popular meanwhile comes once the list is refreshed', async () => {
    await refreshPopularLists();
    const [shop, newcomer] = await Promise.all([sellerWithNeighbourhood(stack, 'recoshop'), sellerWithNeighbourhood(stack, 'reconew')]);
    const top = Number((await stack.db.query('SELECT coalesce(max(like_count * 3 + view_count), 0) AS m FROM products')).rows[0]!.m);
    const [a, b, c] = [await createListing(stack, shop.token), await createListing(stack, shop.token), await createListing(stack, shop.token)];
    for (const [p, extra] of [[a, 3000], [b, 2000], [c, 1000]] as const) await stack.db.query('UPDATE products SET view_count = $2 WHERE id = $1', [p.id, top + extra]);

    expect((await recommended(newcomer)).slice(0, 3)).toEqual([a.id, b.id, c.id]);
    // The shop asks for the same list (no history, same neighbourhood): its own listings are left out.
    const forShop = await recommended(shop);
    for (const own of [a, b, c]) expect(forShop).not.toContain(own.id);

    // c is sold, d becomes the most popular of all: the list read a moment ago is still served
    // (d is not in it), and c, still in it, is left out all the same.
    expect((await call(shop, 'POST', `/products/${c.id}/status`, { status: 'sold' })).status).toBe(200);
    const d = await createListing(stack, shop.token);
    await stack.db.query('UPDATE products SET view_count = $2 WHERE id = $1', [d.id, top + 5000]);
    const cached = await recommended(newcomer);
    expect(cached.slice(0, 2)).toEqual([a.id, b.id]);
    expect(cached).not.toContain(c.id);
    expect(cached).not.toContain(d.id);

    await refreshPopularLists();
    expect((await recommended(newcomer)).slice(0, 3)).toEqual([d.id, a.id, b.id]);
  });

  it('when a user liked one of the top listings, then the shared list of their categories comes without it', async () => {
    await refreshPopularLists();
    const shop = await sellerWithNeighbourhood(stack, 'recoshop2');
    const fan = await sellerWithNeighbourhood(stack, 'recofan');
    const top = Number((await stack.db.query('SELECT coalesce(max(like_count * 3 + view_count), 0) AS m FROM products')).rows[0]!.m);
    const [a, b] = [await createListing(stack, shop.token), await createListing(stack, shop.token)];
    for (const [p, extra] of [[a, 3000], [b, 2000]] as const) await stack.db.query('UPDATE products SET view_count = $2 WHERE id = $1', [p.id, top + extra]);
    expect((await call(fan, 'PUT', `/products/${a.id}/like`)).status).toBe(200);

    const ids = await recommended(fan);
    expect(ids[0]).toBe(b.id);
    expect(ids).not.toContain(a.id);
  });

  it('when the catalogue grows sixfold, then the per-request part reads the same few pages (a primary-key probe per candidate, EXPLAIN ANALYZE), while the old per-request query reads in proportion', async () => {
    // A products table of its own in a scratch schema (nothing else reads it); likes, purchases
    // and categories are the real ones.
    const schema = `reco_t_${randomBytes(4).toString('hex')}`;
    const scratch = new Client({ connectionString: stack.api.config.DATABASE_URL });
    await scratch.connect();
    try {
      await scratch.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.products (LIKE public.products INCLUDING ALL); SET search_path TO ${schema}, public`);
      // The sellers the reads check (SELLER_IN_FORCE), active: only the columns the check reads.
      await scratch.query(`CREATE TABLE ${schema}.users (id text PRIMARY KEY, status text NOT NULL, suspended_until timestamptz)`);
      await scratch.query(`INSERT INTO ${schema}.users (id, status) SELECT 'usr_scratch_' || g, 'active' FROM generate_series(0, 4999) g`);
      const fill = async (from: number, to: number) => {
        await scratch.query(
          `INSERT INTO products (id, seller_id, title, category_id, price, condition, trade_methods, dong_code, lat, lng, status, like_count, view_count, bumped_at, created_at)
           SELECT 'prd_scratch_' || lpad(g::text, 8, '0'), 'usr_scratch_' || (g % 5000), '상품 ' || g, cats[1 + g % cardinality(cats)], 10000, 'used', '{meet_up}',
                  dongs[1 + g % cardinality(dongs)], 37.5, 126.9,
                  CASE WHEN g % 10 < 8 THEN 'on_sale' WHEN g % 10 = 8 THEN 'reserved' ELSE 'sold' END,
                  (random() * 20)::int, (random() * 500)::int, now() - random() * interval '60 days', now() - interval '61 days'
             FROM generate_series($1::int, $2::int) g,
                  (SELECT array_agg(id) AS cats FROM public.categories WHERE depth > 0) c,
                  (SELECT array_agg(code) AS dongs FROM (SELECT code FROM public.dongs ORDER BY code LIMIT 500) x) d`,
          [from, to],
        );
        await scratch.query('ANALYZE products');
      };
      const viewer = newId('usr');
      const measure = async () => {
        const buffers = async (sql: string, params: unknown[]) => {
          const { rows } = await scratch.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`, params);
          const plan = (rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan;
          return { plan, pages: (plan['Shared Hit Blocks'] ?? 0) + (plan['Shared Read Blocks'] ?? 0) };
        };
        const candidates = (await scratch.query<{ id: string }>(POPULAR_SLICE_SQL, [null, null, 200])).rows.map((r) => r.id);
        const perRequest = await buffers(STILL_RECOMMENDABLE_SQL, [candidates, viewer, [], 20]);
        const before = await buffers(POPULAR_SQL, [viewer, [], null, null, 20]);
        return { candidates, perRequest, before };
      };

      await fill(1, 10_000);
      const small = await measure();
      await fill(10_001, 60_000);
      const large = await measure();

      expect(large.candidates).toHaveLength(200);
      for (const { plan } of [small.perRequest, large.perRequest]) {
        const onProducts = nodesOf(plan).filter((n) => n['Relation Name'] === 'products');
        expect(onProducts.length).toBeGreaterThan(0);
        expect(onProducts.map((n) => n['Node Type'])).toEqual(onProducts.map(() => 'Index Scan'));
        for (const n of onProducts) expect(n['Actual Loops']).toBeLessThanOrEqual(200);
      }
      expect(large.perRequest.pages).toBeLessThanOrEqual(16 * 200);
      expect(large.perRequest.pages).toBeLessThanOrEqual(1.5 * small.perRequest.pages);
      expect(large.before.pages).toBeGreaterThanOrEqual(3 * small.before.pages);
    } finally {
      await scratch.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
      await scratch.end();
    }
  });
});

describe('item similarity norms (item_norms)', () => {
  it('when likes, unlikes, flushed views and a purchase change listings\' interactions, then each norm is Σ weight² of the strongest signal per user, and the recomputed scores are the cosine with shrinkage computed from scratch', async () => {
    const shop = await sellerWithNeighbourhood(stack, 'recoshop3');
    const [x, y, z] = [await createListing(stack, shop.token), await createListing(stack, shop.token), await createListing(stack, shop.token)];
    const u = await buyers(6);
    const like = async (who: Caller, p: { id: string }) => expect((await call(who, 'PUT', `/products/${p.id}/like`)).status).toBe(200);
    const unlike = async (who: Caller, p: { id: string }) => expect((await call(who, 'DELETE', `/products/${p.id}/like`)).status).toBe(200);

    for (const who of u.slice(0, 5)) await like(who, x);
    for (const who of u.slice(0, 4)) await like(who, y);
    for (const who of u.slice(0, 3)) await like(who, z);
    await unlike(u[2]!, y);
    // Signed-in views through the counter and the flush: u[1] and u[3] viewed x (liked already:
    // nothing changes), u[4] and u[5] viewed y, u[5] viewed z.
    const views = viewUseCases({ store: createViewStore(redis, stack.api.config.QUEUE_PREFIX), flushes: createViewFlushRepository(sequelize) });
    const ctx = (who: Caller) => ({ actor: { userId: who.id, roles: ['user'], sessionId: 'ses_test' }, client: { ip: '10.3.3.3', userAgent: 'ua' }, log });
    for (const [who, p] of [[u[1]!, x], [u[3]!, x], [u[4]!, y], [u[5]!, y], [u[5]!, z]] as const) await views.recordView(ctx(who), p.id, { sellerId: shop.id });
    await flushViewsJob(views).handle({}, { jobId: 'engagement.flush-views|test', attempt: 1, log, signal: new AbortController().signal });
    // Then u[3] unlikes x (a view of it stays: weight 3 → 1), and x is sold to u[0], who liked it (3 → 5).
    await unlike(u[3]!, x);
    expect((await call(shop, 'POST', `/products/${x.id}/status`, { status: 'sold', buyer_id: u[0]!.id })).status).toBe(200);
    await waitFor('the purchase', async () => (await stack.db.query('SELECT 1 FROM product_purchases WHERE user_id = $1 AND product_id = $2', [u[0]!.id, x.id])).rowCount === 1);

    // x: 5² + 3² + 3² + 1² + 3²; y: 3² + 3² + 3² (u0, u1, u3) + 1² + 1² (u4, u5); z: 3² × 3 + 1².
    expect([await norm(x.id), await norm(y.id), await norm(z.id)]).toEqual([53, 29, 28]);
    // Everywhere, not only here: every norm is what the view says, for every listing of the database.
    const { rows: drift } = await stack.db.query(
      `SELECT coalesce(n.product_id, a.product_id) AS id, n.sq_sum, a.sq_sum AS expected
         FROM item_norms n FULL JOIN (SELECT product_id, sum(weight::double precision * weight) AS sq_sum FROM product_interactions GROUP BY product_id) a
           ON a.product_id = n.product_id
        WHERE coalesce(n.sq_sum, 0) <> coalesce(a.sq_sum, 0)`,
    );
    expect(drift).toEqual([]);

    const ids = [x.id, y.id, z.id];
    await waitFor(
      'the recompute after the last change',
      async () => (await stack.db.query('SELECT count(*)::int AS n FROM similarity_dirty_items WHERE product_id = ANY($1)', [ids])).rows[0].n === 0,
      15_000,
    );
    // The scores as the job computed them before item_norms: cosine over everyone, uncapped, with
    // shrinkage c / (c + 2), pairs of at least three users; stored only in the lists of which they
    // are a recommendable neighbour (x, sold, keeps its list, but is in no other).
    const { rows: expected } = await stack.db.query(
      `WITH pi AS (SELECT user_id, product_id, weight FROM product_interactions WHERE product_id = ANY($1)),
            norms AS (SELECT product_id, sqrt(sum(weight * weight)) AS n FROM pi GROUP BY product_id),
            co AS (SELECT a.product_id AS i, b.product_id AS j, sum(a.weight * b.weight) AS dot, count(*)::int AS c
                     FROM pi a JOIN pi b ON a.user_id = b.user_id AND a.product_id <> b.product_id GROUP BY 1, 2)
       SELECT i, j, (dot / (ni.n * nj.n) * c / (c + 2))::real AS score, c AS co_users
         FROM co JOIN norms ni ON ni.product_id = i JOIN norms nj ON nj.product_id = j JOIN products p ON p.id = j
        WHERE c >= 3 AND ${RECOMMENDABLE} ORDER BY i, j`,
      [ids],
    );
    const { rows: stored } = await stack.db.query('SELECT product_id AS i, similar_id AS j, score, co_users FROM item_similarity WHERE product_id = ANY($1) ORDER BY i, j', [ids]);
    expect(expected.length).toBeGreaterThanOrEqual(4);
    expect(expected.filter((r) => r.i === x.id)).not.toEqual([]);
    expect(stored.map((r) => [r.i, r.j, r.co_users])).toEqual(expected.map((r) => [r.i, r.j, r.co_users]));
    stored.forEach((r, k) => expect(Number(r.score)).toBeCloseTo(Number(expected[k]!.score), 6));
  });

  it('when a like or an unlike and a purchase of the same user and listing commit at once, then the norm counts the stronger signal exactly once, whichever transaction commits first', async () => {
    const shop = await sellerWithNeighbourhood(stack, 'recoshop4');
    const [first, second] = [await createListing(stack, shop.token), await createListing(stack, shop.token)];
    const [u, v] = await buyers(2);
    const a = new Client({ connectionString: stack.api.config.DATABASE_URL });
    const b = new Client({ connectionString: stack.api.config.DATABASE_URL });
    await Promise.all([a.connect(), b.connect()]);
    try {
      const bPid = (await b.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const waitingForLock = () =>
        waitFor('the purchase to wait for the other transaction', async () => (await stack.db.query('SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1', [bPid])).rows[0]?.wait_event_type === 'Lock');
      const race = async (opening: string, params: unknown[], purchase: unknown[]) => {
        await a.query('BEGIN');
        await a.query(opening, params);
        const bought = b.query('INSERT INTO product_purchases (user_id, product_id) VALUES ($1, $2)', purchase);
        await waitingForLock();
        await a.query('COMMIT');
        await bought;
      };

      // u viewed `first` (1); a like (3) and a purchase (5) race: 5² in the end, not 1 + 8 + 24.
      await stack.db.query("INSERT INTO product_views (user_id, product_id, viewed_on) VALUES ($1, $2, current_date)", [u!.id, first.id]);
      expect(await norm(first.id)).toBe(1);
      await race('INSERT INTO product_likes (user_id, product_id) VALUES ($1, $2)', [u!.id, first.id], [u!.id, first.id]);
      expect(await norm(first.id)).toBe(25);

      // v viewed and liked `second` (3² = 9); an unlike and a purchase race: 5² in the end, not 9 − 8 + 16.
      await stack.db.query("INSERT INTO product_views (user_id, product_id, viewed_on) VALUES ($1, $2, current_date)", [v!.id, second.id]);
      await stack.db.query('INSERT INTO product_likes (user_id, product_id) VALUES ($1, $2)', [v!.id, second.id]);
      expect(await norm(second.id)).toBe(9);
      await race('DELETE FROM product_likes WHERE user_id = $1 AND product_id = $2', [v!.id, second.id], [v!.id, second.id]);
      expect(await norm(second.id)).toBe(25);

      // A key is never rewritten in place (the norms follow inserts and deletes only).
      await expect(stack.db.query('UPDATE product_views SET product_id = $3 WHERE user_id = $1 AND product_id = $2', [u!.id, first.id, second.id])).rejects.toThrow(/never updated/);
    } finally {
      await a.query('ROLLBACK').catch(() => undefined);
      await Promise.all([a.end(), b.end()]);
    }
  });
});

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createKeywordAlertRepository } from '../../../src/modules/engagement/data/keyword-alert-repository';
import { createNotificationRepository } from '../../../src/modules/engagement/data/notification-repository';
import { createRetentionRepository, PRUNE_MATCHES_STEP_SQL, PRUNE_NOTIFICATIONS_SLICE_SQL } from '../../../src/modules/engagement/data/retention-repository';
import { keywordAlertDedupKey, keywordAlertUseCases, type KeywordMatch } from '../../../src/modules/engagement/domain/keyword-alerts';
import { NOTIFICATION_RETENTION_DAYS, notifyKeywordMatchJob, pruneKeywordMatchesJob, pruneNotificationsJob, VIEW_RETENTION_DAYS } from '../../../src/modules/engagement/jobs';
import { newEngagementId } from '../../../src/modules/engagement/domain/ids';
import { quickAccounts } from '../../support/accounts';
import { createListing, sellerWithNeighbourhood, type Seller } from '../../support/catalog';
import { v1Caller } from '../../support/http';
import { startEngagementStack, type EngagementStack } from '../../support/engagement';
import type { IdentityStack } from '../../support/identity';
import { waitFor } from '../../support/wait';

// Retention of the inbox and of the keyword-match ledger (docs/keyword-alerts.md, "Retention"):
// the maintenance jobs against the real database, and a bump after the prune through the real
// matching path. The database is shared with other files: only this file's rows are judged.

let env: EngagementStack;
let stack: IdentityStack;
let seller: Seller;

beforeAll(async () => {
  env = await startEngagementStack();
  stack = env.stack;
  seller = await sellerWithNeighbourhood(stack, 'rtseller');
});
afterAll(() => env?.stop());

type Json = Record<string, unknown>;
interface Caller {
  id: string;
  token: string;
}
const call = v1Caller(() => stack.api.url);
const people = (n: number) => quickAccounts(stack.api.config, n, 'rt');
const job = (name: string) => ({ jobId: `${name}|test`, attempt: 1, log: env.log, signal: new AbortController().signal });
const retention = () => createRetentionRepository(env.sequelize);
const keywordNotes = async (u: Caller, productId: string) =>
  ((await call(u, 'GET', '/users/me/notifications?limit=100')).json.data as Json[]).filter((n) => (n.keyword_alert as Json | undefined)?.product_id === productId);
const matchOf = async (productId: string, userId: string) =>
  (await stack.db.query('SELECT matched_at, notified_at FROM keyword_alert_matches WHERE product_id = $1 AND user_id = $2', [productId, userId])).rows[0] as
    | { matched_at: Date; notified_at: Date | null }
    | undefined;
const setStatus = async (productId: string, status: string) => expect((await call(seller, 'POST', `/products/${productId}/status`, { status })).status).toBe(200);

/** A notification written as the inbox stores it, `daysOld` days old. */
async function addNotification(userId: string, daysOld: number, n: { kind: 'keyword_alert' | 'listing_review'; productId: string; read?: boolean }): Promise<string> {
  const id = newEngagementId('ntf');
  const dedupKey = n.kind === 'keyword_alert' ? `keyword_alert:${n.productId}` : `listing_review:evt_${randomBytes(8).toString('hex')}`;
  const data = n.kind === 'keyword_alert' ? { keyword: '자전거', alert_id: 'kwa_RETENTIONTEST00000', title: '자전거', price: 1000 } : { title: '자전거', decision: 'approved' };
  await stack.db.query(
    `INSERT INTO notifications (id, user_id, kind, dedup_key, product_id, data, created_at, read_at)
     VALUES ($1, $2, $3, $4, $5, $6, now() - make_interval(days => $7), CASE WHEN $8 THEN now() END)`,
    [id, userId, n.kind, dedupKey, n.productId, JSON.stringify(data), daysOld, n.read ?? false],
  );
  return id;
}

describe('engagement.prune-notifications', () => {
  it('when notifications are past the retention, then they are deleted, read or not and of either kind, in statements of at most one slice; younger ones stay', async () => {
    const [user] = await people(1);
    const p = await createListing(stack, seller.token);
    const old: string[] = [];
    for (let i = 0; i < 7; i++) old.push(await addNotification(user!.id, NOTIFICATION_RETENTION_DAYS + 1 + i, { kind: 'listing_review', productId: p.id, read: i % 2 === 0 }));
    old.push(await addNotification(user!.id, NOTIFICATION_RETENTION_DAYS + 30, { kind: 'keyword_alert', productId: p.id }));
    const young = [
      await addNotification(user!.id, NOTIFICATION_RETENTION_DAYS - 1, { kind: 'listing_review', productId: p.id }),
      await addNotification(user!.id, 0, { kind: 'listing_review', productId: p.id, read: true }),
    ];

    const query = vi.spyOn(env.sequelize, 'query');
    try {
      expect(await retention().pruneNotifications(NOTIFICATION_RETENTION_DAYS, { slice: 3 })).toBeGreaterThanOrEqual(old.length);
      const perStatement = (await Promise.all(query.mock.results.map((r) => r.value as Promise<{ n: number }[]>))).map((rows) => rows[0]!.n);
      expect(perStatement.length).toBeGreaterThanOrEqual(3);
      expect(Math.max(...perStatement)).toBeLessThanOrEqual(3);
    } finally {
      query.mockRestore();
    }
    const left = (await stack.db.query('SELECT id FROM notifications WHERE user_id = $1', [user!.id])).rows.map((r) => r.id as string);
    expect(left.sort()).toEqual([...young].sort());
    const listed = ((await call(user!, 'GET', '/users/me/notifications?limit=100')).json.data as Json[]).map((n) => n.id);
    expect(listed).toEqual(young.slice().reverse());
  });

  it('when a keyword notification of a listing still for sale is pruned, then its match remembers the user was told (notified_at); of a sold listing, nothing is kept', async () => {
    const [user] = await people(1);
    const forSale = await createListing(stack, seller.token);
    const sold = await createListing(stack, seller.token);
    await setStatus(sold.id, 'sold');
    await addNotification(user!.id, NOTIFICATION_RETENTION_DAYS + 5, { kind: 'keyword_alert', productId: forSale.id, read: true });
    await addNotification(user!.id, NOTIFICATION_RETENTION_DAYS + 5, { kind: 'keyword_alert', productId: sold.id });

    await pruneNotificationsJob(retention()).handle({ retention_days: NOTIFICATION_RETENTION_DAYS }, job('engagement.prune-notifications'));
    expect((await stack.db.query('SELECT 1 FROM notifications WHERE user_id = $1', [user!.id])).rows).toEqual([]);
    const kept = await matchOf(forSale.id, user!.id);
    expect(kept?.notified_at).toBeInstanceOf(Date);
    expect(Date.now() - kept!.notified_at!.getTime()).toBeGreaterThan((NOTIFICATION_RETENTION_DAYS + 4) * 86_400_000);
    expect(await matchOf(sold.id, user!.id)).toBeUndefined();
  });

  it('when a listing announced more than 90 days ago, hidden for months meanwhile, is put back on sale and bumped after both prunes, then its fan is not told again; a user who saved the keyword since is', async () => {
    const tag = `rt${randomBytes(4).toString('hex')}`;
    const [fan, newcomer] = await people(2);
    expect((await call(fan!, 'POST', '/users/me/keyword-alerts', { keyword: `자전거 ${tag}` })).status).toBe(201);
    const p = await createListing(stack, seller.token, { title: `미니벨로 자전거 ${tag}` });
    await waitFor('the notification', async () => (await keywordNotes(fan!, p.id)).length === 1);
    await waitFor('the match committed', async () => (await matchOf(p.id, fan!.id)) !== undefined);

    // Months pass: the notification and the match age past the retention, the listing hidden all along.
    await setStatus(p.id, 'hidden');
    await stack.db.query(`UPDATE notifications SET created_at = created_at - interval '120 days' WHERE user_id = $1 AND product_id = $2`, [fan!.id, p.id]);
    await stack.db.query(`UPDATE keyword_alert_matches SET matched_at = matched_at - interval '120 days' WHERE user_id = $1 AND product_id = $2`, [fan!.id, p.id]);
    await pruneNotificationsJob(retention()).handle({ retention_days: NOTIFICATION_RETENTION_DAYS }, job('engagement.prune-notifications'));
    await pruneKeywordMatchesJob(retention()).handle({}, job('engagement.prune-keyword-matches'));
    expect(await keywordNotes(fan!, p.id)).toEqual([]);
    expect((await matchOf(p.id, fan!.id))?.notified_at).toBeInstanceOf(Date);

    expect((await call(newcomer!, 'POST', '/users/me/keyword-alerts', { keyword: `자전거 ${tag}` })).status).toBe(201);
    await setStatus(p.id, 'on_sale');
    await stack.db.query(`UPDATE products SET bumped_at = now() - interval '25 hours' WHERE id = $1`, [p.id]);
    expect((await call(seller, 'POST', `/products/${p.id}/bump`, {})).status).toBe(200);
    // The bump was matched: the newcomer hears of the listing. The fan's job was never queued.
    await waitFor("the newcomer's notification", async () => (await keywordNotes(newcomer!, p.id)).length === 1);
    const bump = (await stack.db.query(`SELECT id FROM events WHERE aggregate_type = 'product' AND aggregate_id = $1 AND type = 'product.bumped'`, [p.id])).rows[0]!.id as string;
    const notify = notifyKeywordMatchJob({ deliverKeywordMatch: () => Promise.reject(new Error('not here')) });
    expect(await stack.worker.jobs.state(notify, `${bump}:${newcomer!.id}`)).not.toBeNull();
    expect(await stack.worker.jobs.state(notify, `${bump}:${fan!.id}`)).toBeNull();
    expect(await keywordNotes(fan!, p.id)).toEqual([]);

    // A redelivered event, past the inbox, queues nothing for either.
    const queued: KeywordMatch[] = [];
    const again = keywordAlertUseCases({ sequelize: env.sequelize, alerts: createKeywordAlertRepository(env.sequelize), notify: async (m) => void queued.push(m) });
    await env.sequelize.transaction((t) => again.matchListing(p.id, 'evt_redelivered', t, env.log));
    expect(queued.filter((m) => m.userId === fan!.id || m.userId === newcomer!.id)).toEqual([]);
  });

  it('when a delivery job for a listing whose notification the prune deleted runs anyway (queued by a worker of the release before), then it delivers nothing; without the mark it would', async () => {
    const [told, fresh] = await people(2);
    const p = await createListing(stack, seller.token);
    const deliver = (userId: string) =>
      createNotificationRepository(env.sequelize).insert({
        id: newEngagementId('ntf'),
        userId,
        kind: 'keyword_alert',
        dedupKey: keywordAlertDedupKey(p.id),
        productId: p.id,
        data: { keyword: '의자', alert_id: 'kwa_x', title: String(p.title), price: 1 },
      });
    // What the prune leaves of a notification it deleted: the match, marked.
    await stack.db.query(`INSERT INTO keyword_alert_matches (product_id, user_id, alert_id, matched_at, notified_at) VALUES ($1, $2, '', now(), now())`, [p.id, told!.id]);
    expect(await deliver(told!.id)).toBe(false);
    expect(await keywordNotes(told!, p.id)).toEqual([]);
    expect(await deliver(fresh!.id)).toBe(true);
  });

  it('when the prune looks for due notifications, then an index leads it to them, not a scan of the whole inbox', async () => {
    await stack.db.query('BEGIN');
    try {
      // Few rows in the test database: forbid the scan the planner would prefer on a small table, to see whether anything else can serve it.
      await stack.db.query('SET LOCAL enable_seqscan = off');
      const plan = JSON.stringify((await stack.db.query(`EXPLAIN (FORMAT JSON) ${PRUNE_NOTIFICATIONS_SLICE_SQL}`, [NOTIFICATION_RETENTION_DAYS, 5000])).rows);
      expect(plan).toContain('notifications_created');
      expect(plan).not.toMatch(/Seq Scan[^}]*"Relation Name":"notifications"/);
      const step = JSON.stringify((await stack.db.query(`EXPLAIN (FORMAT JSON) ${PRUNE_MATCHES_STEP_SQL}`, ['', '', 5000])).rows);
      expect(step).toContain('keyword_alert_matches_pkey');
      expect(step).not.toMatch(/Seq Scan[^}]*"Relation Name":"keyword_alert_matches"/);
    } finally {
      await stack.db.query('ROLLBACK');
    }
  });
});

describe('the schedule', () => {
  it('when the worker starts, then the match prune is queued for the day on the maintenance queue and run; the inbox prune waits for the first hourly check (not during a rollout)', async () => {
    const day = Math.floor(Date.now() / 86_400_000);
    const maintenance = stack.worker.jobs.all().find((q) => q.name === 'maintenance')!;
    const name = 'engagement.prune-keyword-matches';
    const queued = await waitFor(name, () => maintenance.getJob(`${name}|${name}:${day}`));
    expect(queued.data).toEqual({});
    await waitFor(`${name} done`, async () => (await maintenance.getJob(queued.id))?.finishedOn);
    expect(await (await maintenance.getJob(queued.id))!.getState()).toBe('completed');
    expect(await maintenance.getJob(`engagement.prune-notifications|engagement.prune-notifications:${day}`)).toBeNull();
  });
});

describe('engagement.prune-keyword-matches', () => {
  it('when listings are sold or deleted, then their matches go, walked a few rows at a time; matches of listings on sale, reserved or hidden stay however old, told or not', async () => {
    const users = await people(4);
    const listings: Record<string, string> = {};
    for (const state of ['on_sale', 'reserved', 'hidden', 'sold', 'deleted']) {
      const p = await createListing(stack, seller.token);
      listings[state] = p.id;
      if (state === 'deleted') expect((await call(seller, 'DELETE', `/products/${p.id}`)).status).toBe(204);
      else if (state !== 'on_sale') await setStatus(p.id, state);
    }
    const ids = Object.values(listings);
    await stack.db.query(
      `INSERT INTO keyword_alert_matches (product_id, user_id, alert_id, matched_at, notified_at)
       SELECT p, u, 'kwa_RETENTIONTEST00000', now() - interval '400 days', CASE WHEN i % 2 = 0 THEN now() - interval '399 days' END
         FROM unnest($1::text[]) p, unnest($2::text[]) WITH ORDINALITY AS x(u, i)`,
      [ids, users.map((u) => u.id)],
    );

    const query = vi.spyOn(env.sequelize, 'query');
    try {
      expect(await retention().pruneMatchesOfEndedListings({ step: 3 })).toBeGreaterThanOrEqual(8);
      const walked = (await Promise.all(query.mock.results.map((r) => r.value as Promise<{ walked: number }[]>))).map((rows) => rows[0]!.walked);
      expect(walked.length).toBeGreaterThanOrEqual(Math.ceil(ids.length * users.length / 3));
      expect(Math.max(...walked)).toBeLessThanOrEqual(3);
    } finally {
      query.mockRestore();
    }
    // This test's users only: another file's user with an alert the default title matches (the
    // fuzzer saves `아이폰` alerts) is matched by the worker too.
    const left = (await stack.db.query('SELECT product_id, count(*)::int AS n FROM keyword_alert_matches WHERE product_id = ANY($1) AND user_id = ANY($2) GROUP BY product_id', [ids, users.map((u) => u.id)])).rows;
    expect(Object.fromEntries(left.map((r) => [r.product_id as string, r.n as number]))).toEqual({ [listings.on_sale!]: 4, [listings.reserved!]: 4, [listings.hidden!]: 4 });
  });
});

describe('view retention', () => {
  it('when views are older than 180 days, then the prune deletes them and only them, their listing is marked for a recompute, and its norm drops', async () => {
    const listing = await createListing(stack, seller.token);
    const [old, recent] = await people(2);
    await stack.db.query(`INSERT INTO product_views (user_id, product_id, viewed_on) VALUES ($1, $3, current_date - 200), ($2, $3, current_date - 10)`, [old!.id, recent!.id, listing.id]);
    const norm = async () => Number((await stack.db.query('SELECT sq_sum FROM item_norms WHERE product_id = $1', [listing.id])).rows[0]?.sq_sum ?? 0);
    expect(await norm()).toBe(2);
    // The worker's recompute (every second here) would take the mark before it is looked at: the
    // recompute's lock is held meanwhile, so its runs give their claims back.
    const holder = await env.sequelize.transaction();
    try {
      await env.sequelize.query("SELECT pg_advisory_xact_lock(hashtextextended('engagement.similarity', 0))", { transaction: holder });
      await stack.db.query('DELETE FROM similarity_dirty_items WHERE product_id = $1', [listing.id]);
      expect(await retention().pruneViews(VIEW_RETENTION_DAYS)).toBeGreaterThanOrEqual(1);
      expect((await stack.db.query('SELECT user_id FROM product_views WHERE product_id = $1', [listing.id])).rows).toEqual([{ user_id: recent!.id }]);
      expect(await norm()).toBe(1);
      expect((await stack.db.query('SELECT 1 FROM similarity_dirty_items WHERE product_id = $1', [listing.id])).rowCount).toBe(1);
    } finally {
      await holder.rollback();
    }
  });
});


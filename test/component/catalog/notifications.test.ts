import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import type { Sequelize } from 'sequelize';
import { databaseOptions } from '../../../src/config';
import { createKeywordAlertRepository } from '../../../src/modules/engagement/data/keyword-alert-repository';
import { createListingReader } from '../../../src/modules/engagement/data/listing-reader';
import { createNotificationRepository } from '../../../src/modules/engagement/data/notification-repository';
import { keywordAlertDedupKey, keywordAlertUseCases, matchingAlertOf, type KeywordMatch } from '../../../src/modules/engagement/domain/keyword-alerts';
import { notificationUseCases } from '../../../src/modules/engagement/domain/notifications';
import { redeliverKeywordMatchesJob } from '../../../src/modules/engagement/jobs';
import { newEngagementId } from '../../../src/modules/engagement/domain/ids';
import { createSequelize } from '../../../src/platform/db/sequelize';
import { createLogger } from '../../../src/platform/logger';
import { createListing, sellerWithNeighbourhood, type Seller } from '../../support/catalog';
import { expectProblem, v1Caller } from '../../support/http';
import { startIdentityStack, type IdentityStack, type SignedUpUser } from '../../support/identity';
import { waitFor } from '../../support/wait';

// The inbox's read state: listMyNotifications?unread=true, updateMyNotification,
// markMyNotificationsRead. The notifications come the real way: a keyword alert and new listings.

let stack: IdentityStack;
let seller: Seller;
let reader: SignedUpUser;
let other: SignedUpUser;
/** The reader's notifications of this file, newest first. */
let ids: string[];

type Json = Record<string, unknown>;
const call = v1Caller(() => stack.api.url);
const inbox = async (user: SignedUpUser, query = '') => (await call(user, 'GET', `/users/me/notifications?limit=100${query}`)).json.data as Json[];
const readState = async () => Object.fromEntries((await inbox(reader)).filter((n) => ids.includes(n.id as string)).map((n) => [n.id, n.read]));
const readAt = async (id: string) => (await stack.db.query('SELECT read_at FROM notifications WHERE id = $1', [id])).rows[0]!.read_at as Date | null;

beforeAll(async () => {
  stack = await startIdentityStack();
  seller = await sellerWithNeighbourhood(stack, 'ntseller');
  reader = await stack.signUp('ntreader');
  other = await stack.signUp('ntother');
  const tag = `nt${randomBytes(4).toString('hex')}`;
  for (const user of [reader, other]) expect((await call(user, 'POST', '/users/me/keyword-alerts', { keyword: tag })).status).toBe(201);
  // Posted one after another, so the inbox order is the posting order reversed.
  for (const n of [1, 2, 3, 4]) {
    const p = await createListing(stack, seller.token, { title: `캠핑 의자 ${tag} ${n}호` });
    await waitFor(`notification ${n}`, async () => (await inbox(reader)).some((x) => (x.keyword_alert as Json | undefined)?.product_id === p.id));
  }
  await waitFor("the other user's notifications", async () => (await inbox(other)).length >= 4);
  ids = (await inbox(reader)).filter((n) => String((n.keyword_alert as Json | undefined)?.keyword) === tag).map((n) => n.id as string);
  expect(ids).toHaveLength(4);
});
afterAll(async () => {
  await stack?.stop();
});

describe('reading notifications', () => {
  it('when one is marked read, then it is read in the list and gone from unread=true; marking it again keeps when it was first read; unread again works', async () => {
    const [newest, second] = ids as [string, string];
    expect(Object.values(await readState())).toEqual([false, false, false, false]);
    const res = await call(reader, 'PATCH', `/users/me/notifications/${second}`, { read: true });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ object: 'notification', id: second, kind: 'keyword_alert', read: true });
    const first = await readAt(second);
    expect(first).not.toBeNull();
    expect((await call(reader, 'PATCH', `/users/me/notifications/${second}`, { read: true })).json.read).toBe(true);
    expect(await readAt(second)).toEqual(first);

    const unread = (await inbox(reader, '&unread=true')).map((n) => n.id);
    expect(unread).toContain(newest);
    expect(unread).not.toContain(second);

    expect((await call(reader, 'PATCH', `/users/me/notifications/${second}`, { read: false })).json.read).toBe(false);
    expect(await readAt(second)).toBeNull();
  });

  it('when marking up to one notification, then it and older ones are read and newer ones stay unread; again marks nothing; without up_to, all', async () => {
    const [newest, second, third, oldest] = ids as [string, string, string, string];
    const res = await call(reader, 'POST', '/users/me/notifications/read-all', { up_to: second });
    expect(res.status).toBe(200);
    // Three of this file's, plus any older notification of the reader's (none: a new account).
    expect(res.json).toEqual({ object: 'notifications_read', marked: 3 });
    expect(await readState()).toEqual({ [newest]: false, [second]: true, [third]: true, [oldest]: true });
    expect((await call(reader, 'POST', '/users/me/notifications/read-all', { up_to: second })).json).toEqual({ object: 'notifications_read', marked: 0 });

    expect((await call(reader, 'POST', '/users/me/notifications/read-all', { all: true })).json).toEqual({ object: 'notifications_read', marked: 1 });
    expect((await call(reader, 'POST', '/users/me/notifications/read-all', { all: true })).json).toEqual({ object: 'notifications_read', marked: 0 });
    // Saying what to mark is required: no body, an empty one, or both at once are refused.
    expectProblem(await call(reader, 'POST', '/users/me/notifications/read-all'), 415, 'unsupported_media_type');
    expectProblem(await call(reader, 'POST', '/users/me/notifications/read-all', {}), 400, 'validation_failed');
    expectProblem(await call(reader, 'POST', '/users/me/notifications/read-all', { all: true, up_to: newest }), 400, 'validation_failed');
    expect(Object.values(await readState())).toEqual([true, true, true, true]);
    expect(await inbox(reader, '&unread=true')).toEqual([]);
  });

  it("when another user's notification is named, then it is 404 and theirs is unchanged; nor may a request be malformed or anonymous", async () => {
    const theirs = (await inbox(other))[0]!.id as string;
    expectProblem(await call(reader, 'PATCH', `/users/me/notifications/${theirs}`, { read: true }), 404, 'not_found');
    expectProblem(await call(reader, 'POST', '/users/me/notifications/read-all', { up_to: theirs }), 404, 'not_found');
    expectProblem(await call(reader, 'PATCH', '/users/me/notifications/ntf_00000000000000000000', { read: true }), 404, 'not_found');
    expect(await readAt(theirs)).toBeNull();
    expect((await inbox(other, '&unread=true')).length).toBe((await inbox(other)).length);

    expectProblem(await call(other, 'PATCH', `/users/me/notifications/${theirs}`, { read: 'yes' }), 400, 'validation_failed');
    expectProblem(await call(other, 'PATCH', `/users/me/notifications/${theirs}`, { read: true, created_at: '2020-01-01T00:00:00Z' }), 400, 'validation_failed');
    expectProblem(await call(other, 'PATCH', '/users/me/notifications/not-an-id', { read: true }), 400, 'validation_failed');
    expectProblem(await call(other, 'POST', '/users/me/notifications/read-all', { up_to: 'kwa_00000000000000000000' }), 400, 'validation_failed');
    expectProblem(await call(null, 'PATCH', `/users/me/notifications/${theirs}`, { read: true }), 401, 'unauthenticated');
    expectProblem(await call(null, 'POST', '/users/me/notifications/read-all', { all: true }), 401, 'unauthenticated');
    expect(await readAt(theirs)).toBeNull();
  });

  it('when paging the unread list, then its cursor is refused on the full list', async () => {
    const page = await call(other, 'GET', '/users/me/notifications?unread=true&limit=1');
    expect(page.status).toBe(200);
    const cursor = page.json.next_cursor as string;
    expect(cursor).toEqual(expect.any(String));
    expectProblem(await call(other, 'GET', `/users/me/notifications?limit=1&cursor=${cursor}`), 400, 'invalid_cursor');
    const next = await call(other, 'GET', `/users/me/notifications?unread=true&limit=1&cursor=${cursor}`);
    expect(next.status).toBe(200);
    expect((next.json.data as Json[])[0]!.id).not.toBe((page.json.data as Json[])[0]!.id);
  });
});

/** The notifications use cases as the worker wires them, on a connection of the test's own. */
const deliveries = (sequelize: Sequelize) =>
  notificationUseCases({
    sequelize,
    notifications: createNotificationRepository(sequelize),
    listings: createListingReader(sequelize),
    matchingAlert: matchingAlertOf(createKeywordAlertRepository(sequelize)),
  });

/** Waits until the worker's keyword matching has handled the postings of these listings. */
const matched = (ids: string[]) =>
  waitFor('the postings to be matched', async () =>
    (await stack.db.query(`SELECT DISTINCT e.aggregate_id FROM inbox i JOIN events e ON e.id = i.event_id WHERE i.subscriber = 'engagement.keyword-alerts' AND e.aggregate_id = ANY($1)`, [ids])).rows.length === ids.length);

describe('delivering a keyword match', () => {
  it('when a match could not be delivered (flagged before its job ran), then the next match of the listing (its approval) delivers it, once; a delivered one is never queued again', async () => {
    const sequelize = createSequelize(databaseOptions(stack.api.config), createLogger('silent', 'test'));
    try {
      const notifications = deliveries(sequelize);
      const queued: KeywordMatch[] = [];
      const causes: string[] = [];
      const alerts = keywordAlertUseCases({ sequelize, alerts: createKeywordAlertRepository(sequelize), notify: async (m, cause) => void (queued.push(m), causes.push(cause)) });
      const match = (eventId: string) => sequelize.transaction((t) => alerts.matchListing(listing.id, eventId, t, createLogger('silent', 'test')));
      const tag = `nf${randomBytes(4).toString('hex')}`;
      const listing = await createListing(stack, seller.token, { title: `캠핑 의자 ${tag}` });
      // The worker matches the posting before the alert exists; the matches below are this test's.
      await waitFor('the posting to be matched', async () =>
        (await stack.db.query(`SELECT 1 FROM inbox i JOIN events e ON e.id = i.event_id WHERE i.subscriber = 'engagement.keyword-alerts' AND e.aggregate_id = $1`, [listing.id])).rows.length > 0);
      expect((await call(other, 'POST', '/users/me/keyword-alerts', { keyword: tag })).status).toBe(201);

      expect(await match('evt_posted')).toBe(1);
      await stack.db.query(`UPDATE products SET moderation = 'flagged' WHERE id = $1`, [listing.id]);
      expect(await notifications.deliverKeywordMatch(queued[0]!)).toBe(false);
      // Approved: matched again, and queued again since nothing was delivered.
      await stack.db.query(`UPDATE products SET moderation = 'ok' WHERE id = $1`, [listing.id]);
      expect(await match('evt_approved')).toBe(1);
      expect(queued.map((m) => m.userId)).toEqual([other.id, other.id]);
      // Each match its own job: Bull adds no job whose id (name + cause) it still holds.
      expect(causes).toEqual([`evt_posted:${other.id}`, `evt_approved:${other.id}`]);
      expect(await notifications.deliverKeywordMatch(queued[1]!)).toBe(true);
      expect(await notifications.deliverKeywordMatch(queued[1]!)).toBe(false);
      expect(await match('evt_bumped')).toBe(0);
      const delivered = (await stack.db.query('SELECT kind FROM notifications WHERE user_id = $1 AND product_id = $2', [other.id, listing.id])).rows;
      expect(delivered).toEqual([{ kind: 'keyword_alert' }]);
    } finally {
      await sequelize.close();
    }
  });

  it('when the listing was flagged, sold or deleted between the match and the delivery, then nothing is delivered; on sale, it is', async () => {
    const sequelize = createSequelize(databaseOptions(stack.api.config), createLogger('silent', 'test'));
    try {
      const notifications = deliveries(sequelize);
      const tag = `nd${randomBytes(4).toString('hex')}`;
      const [flagged, sold, deleted, fine] = await Promise.all([1, 2, 3, 4].map((n) => createListing(stack, seller.token, { title: `${tag} 캠핑 테이블 ${n}` })));
      // The alert once the worker has matched the postings (before it existed): the deliveries below are this test's.
      await matched([flagged!.id, sold!.id, deleted!.id, fine!.id]);
      const alert = await call(other, 'POST', '/users/me/keyword-alerts', { keyword: tag });
      expect(alert.status).toBe(201);
      // An edit that adds a web address flags the listing (docs/listings.md).
      await stack.db.query(`UPDATE products SET moderation = 'flagged' WHERE id = $1`, [flagged!.id]);
      await stack.db.query(`UPDATE products SET status = 'sold' WHERE id = $1`, [sold!.id]);
      await stack.db.query('UPDATE products SET deleted_at = now() WHERE id = $1', [deleted!.id]);
      const deliver = (productId: string) => notifications.deliverKeywordMatch({ userId: other.id, productId, alertId: alert.json.id as string, keyword: tag, title: tag, price: 1000 });
      expect(await deliver(flagged!.id)).toBe(false);
      expect(await deliver(sold!.id)).toBe(false);
      expect(await deliver(deleted!.id)).toBe(false);
      expect(await deliver(fine!.id)).toBe(true);
      const delivered = (await stack.db.query('SELECT product_id FROM notifications WHERE user_id = $1 AND product_id = ANY($2)', [other.id, [flagged!.id, sold!.id, deleted!.id, fine!.id]])).rows;
      expect(delivered).toEqual([{ product_id: fine!.id }]);
    } finally {
      await sequelize.close();
    }
  });

  it('when the listing is hidden while its delivery runs (the hide committed after the delivery read it), then nothing is delivered: the delivery holds the listing from its check to its insert', async () => {
    const sequelize = createSequelize(databaseOptions(stack.api.config), createLogger('silent', 'test'));
    const hider = new Client({ connectionString: stack.api.config.DATABASE_URL });
    await hider.connect();
    try {
      const notifications = deliveries(sequelize);
      const tag = `nh${randomBytes(4).toString('hex')}`;
      const listing = await createListing(stack, seller.token, { title: `${tag} 캠핑 랜턴` });
      await matched([listing.id]);
      const alert = await call(other, 'POST', '/users/me/keyword-alerts', { keyword: tag });
      expect(alert.status).toBe(201);
      // The seller's hide, under way: its transaction holds the row.
      await hider.query('BEGIN');
      await hider.query(`UPDATE products SET status = 'hidden' WHERE id = $1`, [listing.id]);
      const { pid } = (await hider.query('SELECT pg_backend_pid() AS pid')).rows[0] as { pid: number };
      const delivery = notifications.deliverKeywordMatch({ userId: other.id, productId: listing.id, alertId: alert.json.id as string, keyword: tag, title: tag, price: 1000 });
      await waitFor('the delivery waiting for the hide', async () => (await stack.db.query('SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [pid])).rowCount);
      await hider.query('COMMIT');
      expect(await delivery).toBe(false);
      expect((await stack.db.query('SELECT 1 FROM notifications WHERE user_id = $1 AND product_id = $2', [other.id, listing.id])).rows).toEqual([]);
    } finally {
      await hider.end();
      await sequelize.close();
    }
  });

  it('when a match has no notification 20 minutes on (its job failed through an outage), then the hourly redelivery queues it again and it is delivered; one matched two days ago is not', async () => {
    const tag = `nr${randomBytes(4).toString('hex')}`;
    const [lost, stale] = await Promise.all([1, 2].map((n) => createListing(stack, seller.token, { title: `${tag} 캠핑 버너 ${n}` })));
    await matched([lost!.id, stale!.id]);
    const alert = await call(other, 'POST', '/users/me/keyword-alerts', { keyword: tag });
    expect(alert.status).toBe(201);
    // As the matching left them when their delivery jobs never delivered.
    for (const [listing, age] of [[lost!, '20 minutes'], [stale!, '2 days']] as const) {
      await stack.db.query(`INSERT INTO keyword_alert_matches (product_id, user_id, alert_id, matched_at) VALUES ($1, $2, $3, now() - $4::interval)`, [listing.id, other.id, alert.json.id, age]);
    }
    const job = redeliverKeywordMatchesJob({ undelivered: async () => [] }, async () => undefined);
    await stack.worker.jobs.enqueue(job, {}, { causationId: `test-${tag}` });
    const delivered = async (id: string) => (await stack.db.query(`SELECT data->>'keyword' AS keyword FROM notifications WHERE user_id = $1 AND product_id = $2`, [other.id, id])).rows;
    await waitFor('the lost match delivered', async () => (await delivered(lost!.id)).length === 1, 20_000);
    expect(await delivered(lost!.id)).toEqual([{ keyword: tag }]);
    expect(await delivered(stale!.id)).toEqual([]);
  });

  it('when a listing matched days ago without a delivery is matched again (a bump), then its match is dated now, so the redelivery looks at it; a delivered match keeps its date', async () => {
    const sequelize = createSequelize(databaseOptions(stack.api.config), createLogger('silent', 'test'));
    try {
      const queued: KeywordMatch[] = [];
      const alerts = keywordAlertUseCases({ sequelize, alerts: createKeywordAlertRepository(sequelize), notify: async (m) => void queued.push(m) });
      const tag = `nm${randomBytes(4).toString('hex')}`;
      const [lost, told] = await Promise.all([1, 2].map((n) => createListing(stack, seller.token, { title: `${tag} 캠핑 매트 ${n}` })));
      await matched([lost!.id, told!.id]);
      const alert = await call(other, 'POST', '/users/me/keyword-alerts', { keyword: tag });
      expect(alert.status).toBe(201);
      for (const listing of [lost!, told!]) {
        await stack.db.query(`INSERT INTO keyword_alert_matches (product_id, user_id, alert_id, matched_at) VALUES ($1, $2, $3, now() - interval '3 days')`, [listing.id, other.id, alert.json.id]);
      }
      // Delivered (as the inbox stores it).
      await stack.db.query(
        `INSERT INTO notifications (id, user_id, kind, dedup_key, product_id, data) VALUES ($1, $2, 'keyword_alert', $3, $4, $5)`,
        [newEngagementId('ntf'), other.id, keywordAlertDedupKey(told!.id), told!.id, { keyword: tag, alert_id: alert.json.id, title: told!.title, price: told!.price }],
      );
      const age = async (id: string) => Number((await stack.db.query(`SELECT extract(epoch FROM now() - matched_at) AS s FROM keyword_alert_matches WHERE product_id = $1 AND user_id = $2`, [id, other.id])).rows[0].s);
      for (const listing of [lost!, told!]) expect(await sequelize.transaction((t) => alerts.matchListing(listing.id, `evt_bump_${listing.id}`, t, createLogger('silent', 'test')))).toBe(listing === lost ? 1 : 0);
      expect(await age(lost!.id)).toBeLessThan(60);
      expect(await age(told!.id)).toBeGreaterThan(2 * 86_400);
      expect(queued.map((m) => m.productId)).toEqual([lost!.id]);
    } finally {
      await sequelize.close();
    }
  });

  it('when the alert was deleted, or its user switched keyword notifications off, between the match and the delivery, then nothing is delivered; another alert of theirs that still matches is named instead', async () => {
    const sequelize = createSequelize(databaseOptions(stack.api.config), createLogger('silent', 'test'));
    try {
      const notifications = deliveries(sequelize);
      const user = await stack.signUp('kwoff');
      const tag = `nw${randomBytes(4).toString('hex')}`;
      const [first, second, third] = await Promise.all([1, 2, 3].map((n) => createListing(stack, seller.token, { title: `${tag} 캠핑 랜턴 ${n}` })));
      // The alerts once the worker has matched the postings (before they existed): the deliveries below are this test's.
      await matched([first!.id, second!.id, third!.id]);
      const alert = await call(user, 'POST', '/users/me/keyword-alerts', { keyword: tag });
      const spare = await call(user, 'POST', '/users/me/keyword-alerts', { keyword: `${tag}캠핑` });
      expect([alert.status, spare.status]).toEqual([201, 201]);
      const deliver = (productId: string) =>
        notifications.deliverKeywordMatch({ userId: user.id, productId, alertId: alert.json.id as string, keyword: tag, title: tag, price: 1000 });
      const prefs = (on: boolean) => stack.db.query(`UPDATE users SET notification_prefs = notification_prefs || jsonb_build_object('keyword_alerts', $2::boolean) WHERE id = $1`, [user.id, on]);
      const inbox = async () => (await stack.db.query(`SELECT product_id, data->>'alert_id' AS alert FROM notifications WHERE user_id = $1 ORDER BY created_at`, [user.id])).rows;

      await prefs(false);
      expect(await deliver(first!.id)).toBe(false);
      await prefs(true);
      expect(await deliver(first!.id)).toBe(true);
      // The matched alert deleted, the other still matching: delivered, naming the one that matches.
      expect((await call(user, 'DELETE', `/users/me/keyword-alerts/${alert.json.id as string}`)).status).toBe(204);
      expect(await deliver(second!.id)).toBe(true);
      // None left that matches: nothing.
      expect((await call(user, 'DELETE', `/users/me/keyword-alerts/${spare.json.id as string}`)).status).toBe(204);
      expect(await deliver(third!.id)).toBe(false);
      expect(await inbox()).toEqual([
        { product_id: first!.id, alert: alert.json.id },
        { product_id: second!.id, alert: spare.json.id },
      ]);
    } finally {
      await sequelize.close();
    }
  });
});

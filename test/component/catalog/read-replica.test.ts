import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createListing, sellerWithNeighbourhood, type Seller } from '../../support/catalog';
import { v1Caller } from '../../support/http';
import { startIdentityStack, type IdentityStack, type SignedUpUser } from '../../support/identity';
import { readOnlyReplicaUrl } from '../../support/read-only-replica';
import { waitFor } from '../../support/wait';

// docker-compose gives the API and the worker a read replica (DATABASE_REPLICA_URL). Here the
// "replica" refuses every write, as a hot standby does: the catalog's writes, including the
// INSERT … RETURNING statements Sequelize would run as reads, must all reach the primary, and
// search, which may use the replica, must still answer.

let stack: IdentityStack;
let seller: Seller;
let buyer: SignedUpUser;

type Json = Record<string, unknown>;
const call = v1Caller(() => stack.api.url);

beforeAll(async () => {
  stack = await startIdentityStack({ DATABASE_REPLICA_URL: await readOnlyReplicaUrl() });
  seller = await sellerWithNeighbourhood(stack, 'rrseller');
  buyer = await stack.signUp('rrbuyer');
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

describe('with a read-only replica configured', () => {
  it('when a buyer alerts, likes, reads notifications and deletes the alert, and the seller posts, bumps with a price cut, reserves and deletes, then every step succeeds and shows at once', async () => {
    const tag = `rr${randomBytes(4).toString('hex')}`;
    const alert = await call(buyer, 'POST', '/users/me/keyword-alerts', { keyword: tag });
    expect(alert.status).toBe(201);
    const listing = await createListing(stack, seller.token, { title: `캠핑 의자 ${tag}`, price: 30000 });

    // The worker's keyword match and notification (INSERT … RETURNING in a job).
    const notice = await waitFor('the keyword alert notification', async () => {
      const data = (await call(buyer, 'GET', '/users/me/notifications')).json.data as Json[];
      return data.find((n) => (n.keyword_alert as Json | undefined)?.product_id === listing.id) ?? false;
    });
    expect((await call(buyer, 'PATCH', `/users/me/notifications/${String(notice.id)}`, { read: true })).json.read).toBe(true);
    expect((await call(buyer, 'POST', '/users/me/notifications/read-all', { all: true })).status).toBe(200);

    expect((await call(buyer, 'PUT', `/products/${listing.id}/like`)).status).toBe(200);
    expect((await call(buyer, 'GET', `/products/${listing.id}`)).json.like_count).toBe(1);

    // A day later (a bump needs one since the posting).
    await stack.db.query(`UPDATE products SET bumped_at = now() - interval '25 hours' WHERE id = $1`, [listing.id]);
    const bumped = await call(seller, 'POST', `/products/${listing.id}/bump`, { price: 25000 });
    expect(bumped.status).toBe(200);
    expect((await call(null, 'GET', `/products/${listing.id}`)).json.price).toBe(25000);
    const reserved = await call(seller, 'POST', `/products/${listing.id}/status`, { status: 'reserved', buyer_id: buyer.id });
    expect(reserved.status).toBe(200);
    expect((await call(null, 'GET', `/products/${listing.id}`)).json.status).toBe('reserved');

    // Search may read the replica; it finds the listing once the index has it.
    await waitFor('the listing in search', async () => ((await call(null, 'GET', `/products?q=${tag}`)).json.data as Json[]).some((p) => p.id === listing.id));

    expect((await call(buyer, 'DELETE', `/users/me/keyword-alerts/${String(alert.json.id)}`)).status).toBe(204);
    expect((await call(seller, 'DELETE', `/products/${listing.id}`)).status).toBe(204);
    expect((await call(null, 'GET', `/products/${listing.id}`)).status).toBe(404);
  });
});

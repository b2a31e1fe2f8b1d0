import { randomUUID } from 'node:crypto';
import type { Sequelize, Transaction } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseOptions } from '../../../src/config';
import { createNotificationRepository } from '../../../src/modules/engagement/data/notification-repository';
import { createSequelize } from '../../../src/platform/db/sequelize';
import { createLogger } from '../../../src/platform/logger';
import { createListing, sellerWithNeighbourhood } from '../../support/catalog';
import { testConfig } from '../../support/env';
import { startIdentityStack, type IdentityStack } from '../../support/identity';

const config = testConfig();
let stack: IdentityStack;
let sequelize: Sequelize;
let notifications: ReturnType<typeof createNotificationRepository>;
/** A listing the notices are about (notifications reference their listing). */
let productId: string;

beforeAll(async () => {
  stack = await startIdentityStack();
  const seller = await sellerWithNeighbourhood(stack, 'order');
  productId = (await createListing(stack, seller.token)).id;
  sequelize = createSequelize(databaseOptions(config), createLogger('warn', 'test'));
  notifications = createNotificationRepository(sequelize);
}, 60_000);
afterAll(async () => {
  await sequelize?.close();
  await stack?.stop();
});

const notice = (userId: string, tag: string) => ({
  id: `ntf_${randomUUID().replace(/-/g, '').slice(0, 20).toUpperCase()}`,
  userId,
  kind: 'listing_review' as const,
  dedupKey: `order-test:${tag}:${randomUUID()}`,
  productId,
  data: { title: tag, decision: 'approved' as const },
});

describe('notifications of one user', () => {
  it('when a notification is inserted while an earlier one is still uncommitted (a subscriber batch), then it waits for that commit and sorts after it, so no reader passes over the earlier one', async () => {
    const [{ id: userId }, other] = await Promise.all([stack.signUp('order'), stack.signUp('order')]);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inserted!: () => void;
    const insertedEarly = new Promise<void>((r) => (inserted = r));
    // The batch: inserts its notice, then stays open.
    const batch = sequelize.transaction(async (t: Transaction) => {
      await notifications.insert(notice(userId, 'early'), t);
      inserted();
      await held;
    });
    await insertedEarly;

    // A job's notice for the same user (its own statement) waits for the batch to commit...
    let lateDone = false;
    const late = notifications.insert(notice(userId, 'late')).then((stored) => ((lateDone = true), stored));
    // ...while one for another user does not.
    expect(await notifications.insert(notice(other.id, 'elsewhere'))).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(lateDone, 'the later insert waited for the earlier one to commit').toBe(false);

    release();
    await batch;
    expect(await late).toBe(true);
    // Newest first: the late one on top, the early one (committed first) behind it.
    const page = await notifications.page(userId, 10);
    expect(page.map((n) => n.data.title)).toEqual(['late', 'early']);
    expect(page[0]!.createdAt.getTime()).toBeGreaterThanOrEqual(page[1]!.createdAt.getTime());
  });
});

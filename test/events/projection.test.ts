import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityLogProjection, type ActivityLogEntry } from '../../src/modules/activity/activity-log.projection';
import { categoryId } from '../../src/modules/categories/domain/category-id';
import { createDocumentStore, type DocumentStore } from '../../src/platform/documents';
import { OutboxRelay } from '../../src/platform/events/outbox-relay';
import { projectionSubscription, replayProjection } from '../../src/platform/events/projection';
import { Subscribers } from '../../src/platform/events/subscriber';
import { startTestApi, type TestApi } from '../support/app';
import { staffAccounts } from '../support/identity';
import { TEST_ENV } from '../support/env';
import { connectInfra, log, until } from './support';

let infra: Awaited<ReturnType<typeof connectInfra>>;
let store: DocumentStore;
let api: TestApi;
const created: string[] = [];

beforeAll(async () => {
  infra = await connectInfra();
  store = await createDocumentStore({ databaseUrl: TEST_ENV.DATABASE_URL, log });
  api = await startTestApi();
});
afterAll(async () => {
  if (created.length) await infra.sequelize.query('DELETE FROM categories WHERE id = ANY($1)', { bind: [created] });
  await api.stop();
  await store.close();
  await infra.rabbit.stop();
  await infra.sequelize.close();
});

const entriesOf = async (actorId: string) =>
  (await (await store.collection<ActivityLogEntry>(activityLogProjection.collection)).find({ where: [{ field: 'actor_id', op: 'eq', value: actorId }], sort: { field: 'occurred_at', direction: 'asc' }, limit: 100 })).items;

describe('projections', () => {
  it('when an admin edits a category, then the activity log projection records it live, and a replay rebuilds the same documents', async () => {
    const subscribers = new Subscribers({ ...infra, log });
    await subscribers.subscribe(projectionSubscription(activityLogProjection, store));
    const relay = new OutboxRelay({ databaseUrl: TEST_ENV.DATABASE_URL, rabbit: infra.rabbit, log });
    await relay.start();
    try {
      const slug = `test-${randomUUID().slice(0, 8)}`;
      const id = categoryId(`other/${slug}`);
      created.push(id);
      await infra.sequelize.query(
        `INSERT INTO categories (id, parent_id, name, slug, depth, path, sort_order) VALUES ($1, $2, '감사 대상', $3, 1, $4, 9000)`,
        { bind: [id, categoryId('other'), slug, `other/${slug}`] },
      );
      const [staff] = await staffAccounts('admin');
      const actor = staff!.id;
      const admin = api.client({ token: staff!.token });
      for (const name of ['첫 번째', '두 번째']) {
        const res = await admin.PATCH('/products/categories/{category_id}', { params: { path: { category_id: id } }, body: { name } });
        expect(res.response.status).toBe(200);
      }
      await until(async () => (await entriesOf(actor)).length === 2, 15_000, 'two live activity entries');
      const live = await entriesOf(actor);
      expect(live.map((e) => [e.event_type, e.aggregate_id, (e.payload as { changes: { name: string } }).changes.name])).toEqual([
        ['category.updated', id, '첫 번째'],
        ['category.updated', id, '두 번째'],
      ]);

      let progressed = false;
      const { applied } = await replayProjection(activityLogProjection, store, infra.sequelize, () => (progressed = true));
      expect(applied).toBeGreaterThanOrEqual(2);
      expect(progressed).toBe(true);
      expect(await entriesOf(actor)).toEqual(live);
    } finally {
      await relay.stop();
      await subscribers.stop();
    }
  });

  it('when a projection retires a type, then its live subscription names it retired (the subscriber unbinds it) and takes the same types', () => {
    const sub = projectionSubscription({ ...activityLogProjection, retired: ['legacy.thing_happened'] }, store);
    expect(sub.name).toBe(`projection.${activityLogProjection.name}`);
    expect(sub.events).toEqual(activityLogProjection.events);
    expect(sub.retired).toEqual(['legacy.thing_happened']);
    expect(projectionSubscription(activityLogProjection, store).retired).toBeUndefined();
  });
});

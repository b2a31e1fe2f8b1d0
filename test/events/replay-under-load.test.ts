import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentStore, type Doc, type DocumentStore } from '../../src/platform/documents';
import { appendEvents } from '../../src/platform/events/event-store';
import { OutboxRelay } from '../../src/platform/events/outbox-relay';
import { projectionSubscription, replayProjection, type Projection } from '../../src/platform/events/projection';
import { Subscribers } from '../../src/platform/events/subscriber';
import { dlqFor, queueFor } from '../../src/platform/events/topology';
import { TEST_ENV } from '../support/env';
import { append, connectInfra, log, uniqueType, until } from './support';

interface Counter extends Doc {
  last_version: number;
}

let infra: Awaited<ReturnType<typeof connectInfra>>;
let store: DocumentStore;
beforeAll(async () => {
  infra = await connectInfra();
  store = await createDocumentStore({ databaseUrl: TEST_ENV.DATABASE_URL, log });
});
afterAll(async () => {
  await store.close();
  await infra.rabbit.stop();
  await infra.sequelize.close();
});

describe('replaying a projection', () => {
  it('when events keep arriving during the replay, then the rebuilt read model ends equal to the full history', async () => {
    const type = uniqueType('counted');
    const suffix = randomUUID().slice(0, 8);
    const projection: Projection<Counter> = {
      name: `test-${suffix}`,
      collection: { name: `t_replay_${suffix}`, indexes: [{ field: 'last_version', type: 'number' }] },
      events: [type],
      apply: async (event, docs) => void (await docs.upsert({ id: event.aggregate_id, version: event.position, last_version: event.aggregate_version })),
    };
    const aggregates = Array.from({ length: 10 }, () => `agg_${randomUUID()}`);
    const appendRound = () => Promise.all(aggregates.map((a) => append(infra.sequelize, type, [{}, {}], a)));
    for (let i = 0; i < 10; i++) await appendRound(); // 200 events of history

    const subscription = projectionSubscription(projection, store);
    const subscribers = new Subscribers({ ...infra, log });
    await subscribers.subscribe(subscription);
    const relay = new OutboxRelay({ databaseUrl: TEST_ENV.DATABASE_URL, rabbit: infra.rabbit, log });
    await relay.start();
    try {
      const during = (async () => {
        for (let i = 0; i < 10; i++) {
          await appendRound();
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      await replayProjection(projection, store, infra.sequelize);
      await during;
      const docs = await store.collection<Counter>(projection.collection);
      // Every aggregate got 40 events in all (20 rounds of 2).
      await until(async () => {
        const page = await docs.find({ where: [{ field: 'last_version', op: 'eq', value: 40 }], limit: 100 });
        return page.items.length === aggregates.length;
      }, 20_000, 'the read model to reach the last version of every aggregate');
      expect(await docs.count()).toBe(aggregates.length);
    } finally {
      await relay.stop();
      await subscribers.stop();
      const channel = infra.rabbit.adminChannel!;
      await channel.deleteQueue(queueFor(subscription.name)).catch(() => undefined);
      await channel.deleteQueue(dlqFor(subscription.name)).catch(() => undefined);
      await infra.sequelize.query(`DROP TABLE IF EXISTS doc_${projection.collection.name}`);
    }
  });
});

describe('replaying a projection while a lower position is still uncommitted', () => {
  it('when an event commits after a higher one and after the replay began, then the rebuilt collection still has it', async () => {
    const type = uniqueType('settled');
    // One document per event of this run's own type.
    const seen: Projection<Doc & { type: string }> = {
      name: 'test-settled-head',
      collection: { name: 'test_settled_head', indexes: [] },
      events: [type],
      apply: async (event, docs) => void (await docs.upsert({ id: event.id, version: event.position, type: event.type })),
    };
    let commitLate: () => void = () => undefined;
    const held = new Promise<void>((go) => (commitLate = go));
    let drawn: (position: number) => void = () => undefined;
    const lowDrawn = new Promise<number>((r) => (drawn = r));
    const late = infra.sequelize.transaction(async (t) => {
      const [e] = await appendEvents(infra.sequelize, t, { type: 'test', id: `agg_late_${type}` }, [{ type, payload: { n: 1 } }], {});
      drawn(e!.position);
      await held;
      return e!;
    });
    const low = await lowDrawn;
    const [high] = await append(infra.sequelize, type, [{ n: 2 }]);
    expect(high!.position).toBeGreaterThan(low);

    let finished = false;
    const replay = replayProjection(seen, store, infra.sequelize).then((r) => ((finished = true), r));
    try {
      await new Promise((r) => setTimeout(r, 500));
      // Still waiting for the writer that drew the lower position.
      expect(finished).toBe(false);
    } finally {
      commitLate();
    }
    const lowEvent = await late;
    const { head } = await replay;
    expect(head).toBeGreaterThanOrEqual(high!.position);

    const docs = await store.collection<Doc & { type: string }>(seen.collection);
    expect((await docs.get(lowEvent.id))?.version).toBe(low);
    expect((await docs.get(high!.id))?.version).toBe(high!.position);
  });
});

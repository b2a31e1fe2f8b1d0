import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentStore, type DocumentStore } from '../../src/platform/documents';
import type { Doc } from '../../src/platform/documents/document-store';
import { appendEvents } from '../../src/platform/events/event-store';
import { replayProjection, type Projection } from '../../src/platform/events/projection';
import { TEST_ENV } from '../support/env';
import { append, connectInfra, log, uniqueType } from './support';

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

import { spawn, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { ConfirmChannel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendEvents } from '../../src/platform/events/event-store';
import { replayDeadLetters } from '../../src/platform/events/dead-letters';
import { OutboxRelay } from '../../src/platform/events/outbox-relay';
import { Subscribers, type Subscription } from '../../src/platform/events/subscriber';
import { EVENTS_EXCHANGE, dlqFor } from '../../src/platform/events/topology';
import { TEST_ENV } from '../support/env';
import { append, connectInfra, count, deleteSubscriberQueues, log, openAdminChannel, uniqueType, until } from './support';

let infra: Awaited<ReturnType<typeof connectInfra>>;
let admin: ConfirmChannel;
const subscribersToDelete: string[] = [];

beforeAll(async () => {
  infra = await connectInfra();
  ({ admin } = await openAdminChannel(infra.rabbit));
});
afterAll(async () => {
  await deleteSubscriberQueues(admin, subscribersToDelete);
  await admin.close().catch(() => undefined);
  await infra.rabbit.stop();
  await infra.sequelize.close();
});

/** A private queue bound to one event type, collecting what reaches the exchange. */
async function tap(type: string) {
  const received: { id: string; redelivered: boolean; aggregate: string; version: number }[] = [];
  const { queue } = await admin.assertQueue('', { exclusive: true, autoDelete: true });
  await admin.bindQueue(queue, EVENTS_EXCHANGE, type);
  await admin.consume(queue, (msg) => {
    if (!msg) return;
    const headers = msg.properties.headers ?? {};
    received.push({ id: String(msg.properties.messageId), redelivered: msg.fields.redelivered, aggregate: String(headers.aggregate_id), version: Number(headers.aggregate_version) });
    admin.ack(msg);
  });
  return received;
}

function subscription(handle: Subscription['handle'], events: string[], extra: Partial<Subscription> = {}): Subscription {
  const name = `test-${randomUUID().slice(0, 8)}`;
  subscribersToDelete.push(name);
  return { name, events, handle, ...extra };
}

describe('outbox relay', () => {
  it('when an event is appended in a rolled-back transaction it is never published; a committed one is published exactly once', async () => {
    const type = uniqueType();
    const received = await tap(type);
    const relay = new OutboxRelay({ databaseUrl: TEST_ENV.DATABASE_URL, rabbit: infra.rabbit, log });
    await relay.start();
    try {
      let rolledBackId = '';
      await infra.sequelize
        .transaction(async (t) => {
          const [e] = await appendEvents(infra.sequelize, t, { type: 'test', id: `agg_${randomUUID()}` }, [{ type, payload: { n: 1 } }], {});
          rolledBackId = e!.id;
          throw new Error('roll back');
        })
        .catch(() => undefined);
      const [committed] = await append(infra.sequelize, type, [{ n: 2 }]);
      await until(async () => received.length >= 1, 10_000, 'the committed event');
      await new Promise((r) => setTimeout(r, 1500)); // time for any duplicate or the rolled-back one to show up
      expect(received.map((m) => m.id)).toEqual([committed!.id]);
      expect(await count(infra.sequelize, 'SELECT count(*) AS n FROM events WHERE id = $1', [rolledBackId])).toBe(0);
      expect(await count(infra.sequelize, 'SELECT count(*) AS n FROM events WHERE id = $1 AND published_at IS NOT NULL', [committed!.id])).toBe(1);
    } finally {
      await relay.stop();
    }
  });

  it('when several relays run at once, then one leads and each aggregate\'s events reach the exchange once, in version order', async () => {
    const type = uniqueType();
    const received = await tap(type);
    const relays = [1, 2, 3].map(() => new OutboxRelay({ databaseUrl: TEST_ENV.DATABASE_URL, rabbit: infra.rabbit, log, batchSize: 7 }));
    for (const relay of relays) await relay.start();
    try {
      const aggregates = Array.from({ length: 10 }, () => `agg_${randomUUID()}`);
      await Promise.all(
        aggregates.map(async (aggregate) => {
          for (let i = 0; i < 20; i++) await append(infra.sequelize, type, [{ i }], aggregate);
        }),
      );
      await until(async () => received.length >= 200, 20_000, '200 events');
      await new Promise((r) => setTimeout(r, 500));
      expect(received).toHaveLength(200);
      expect(relays.filter((r) => r.isLeader)).toHaveLength(1);
      for (const aggregate of aggregates) {
        expect(received.filter((m) => m.aggregate === aggregate).map((m) => m.version)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      }
    } finally {
      for (const relay of relays) await relay.stop();
    }
  });

  it('when the relay dies between the broker ack and marking, then the consumer receives the event twice and applies it once', async () => {
    const type = uniqueType();
    const table = `effects_${randomUUID().slice(0, 8)}`;
    await infra.sequelize.query(`CREATE TABLE ${table} (event_id text NOT NULL)`);
    const outcomes: string[] = [];
    const subscribers = new Subscribers({ ...infra, log, metrics: { onHandled: (_s, outcome) => void outcomes.push(outcome) } });
    await subscribers.subscribe(
      subscription(async (event, { transaction }) => {
        await infra.sequelize.query(`INSERT INTO ${table} (event_id) VALUES ($1)`, { bind: [event.id], transaction });
      }, [type]),
    );
    try {
      const [event] = await append(infra.sequelize, type, [{ n: 1 }]);
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/events/fixtures/relay-that-dies.ts'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const signal = await new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, sig) => r(sig)));
      expect(signal).toBe('SIGKILL');
      expect(out).toContain(event!.id);
      expect(await count(infra.sequelize, 'SELECT count(*) AS n FROM events WHERE id = $1 AND published_at IS NULL', [event!.id])).toBe(1);

      const relay = new OutboxRelay({ databaseUrl: TEST_ENV.DATABASE_URL, rabbit: infra.rabbit, log });
      await relay.start();
      try {
        await until(async () => outcomes.length >= 2, 15_000, 'the second delivery');
        await until(async () => (await count(infra.sequelize, 'SELECT count(*) AS n FROM events WHERE id = $1 AND published_at IS NOT NULL', [event!.id])) === 1);
      } finally {
        await relay.stop();
      }
      expect(outcomes.sort()).toEqual(['duplicate', 'handled']);
      expect(await count(infra.sequelize, `SELECT count(*) AS n FROM ${table}`, [])).toBe(1);
    } finally {
      await subscribers.stop();
      await infra.sequelize.query(`DROP TABLE ${table}`);
    }
  });

  it('when a handler keeps failing, then its message goes to the DLQ after the delivery limit, later events keep flowing, and the replay brings it back once fixed', async () => {
    const type = uniqueType();
    let broken = true;
    const handled: number[] = [];
    const sub = subscription(
      async (event) => {
        const n = (event.payload as { n: number }).n;
        if (broken && n === 0) throw new Error('poison');
        handled.push(n);
      },
      [type],
      { deliveryLimit: 3, prefetch: 4 },
    );
    const subscribers = new Subscribers({ ...infra, log });
    await subscribers.subscribe(sub);
    const relay = new OutboxRelay({ databaseUrl: TEST_ENV.DATABASE_URL, rabbit: infra.rabbit, log });
    await relay.start();
    try {
      await append(infra.sequelize, type, [{ n: 0 }]);
      await append(infra.sequelize, type, [1, 2, 3, 4, 5].map((n) => ({ n })));
      // `handled` is outside the inbox transaction: when the poison message shares a batch with
      // healthy ones, the batch rolls back and each is handled again alone, so the array may hold
      // a healthy event twice (a transactional effect would not: see the redelivery test).
      const distinct = () => [...new Set(handled)].sort();
      await until(async () => distinct().length === 5, 15_000, 'the healthy events');
      expect(distinct()).toEqual([1, 2, 3, 4, 5]);
      await until(async () => (await admin.checkQueue(dlqFor(sub.name))).messageCount === 1, 15_000, 'the poison message in the DLQ');

      broken = false;
      expect(await replayDeadLetters(admin, sub.name)).toBe(1);
      await until(async () => handled.includes(0), 10_000, 'the replayed message');
      expect(handled.filter((n) => n === 0)).toHaveLength(1);
      expect((await admin.checkQueue(dlqFor(sub.name))).messageCount).toBe(0);
    } finally {
      await relay.stop();
      await subscribers.stop();
    }
  });

  it('when RabbitMQ stops while 1,000 events are appended and starts again, then every event is delivered once and the outbox drains', async () => {
    const type = uniqueType();
    const sub = subscription(async () => undefined, [type], { prefetch: 64 });
    const subscribers = new Subscribers({ ...infra, log });
    await subscribers.subscribe(sub);
    const relay = new OutboxRelay({ databaseUrl: TEST_ENV.DATABASE_URL, rabbit: infra.rabbit, log });
    await relay.start();
    try {
      const appending = (async () => {
        for (let batch = 0; batch < 20; batch++) {
          await append(infra.sequelize, type, Array.from({ length: 50 }, (_, i) => ({ n: batch * 50 + i })));
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      await new Promise((r) => setTimeout(r, 300));
      execFileSync('rabbitmqctl', ['stop_app'], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 1500));
      execFileSync('rabbitmqctl', ['start_app'], { stdio: 'ignore' });
      await appending;
      const inbox = () => count(infra.sequelize, 'SELECT count(*) AS n FROM inbox WHERE subscriber = $1', [sub.name]);
      await until(async () => (await inbox()) === 1000, 60_000, 'all 1,000 events in the inbox');
      expect(await count(infra.sequelize, 'SELECT count(*) AS n FROM events WHERE type = $1 AND published_at IS NULL', [type])).toBe(0);
      expect(await count(infra.sequelize, 'SELECT count(*) AS n FROM events WHERE type = $1', [type])).toBe(1000);
    } finally {
      await relay.stop();
      await subscribers.stop();
    }
  }, 120_000);
});

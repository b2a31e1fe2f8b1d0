import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Channel, ChannelModel, ConfirmChannel } from 'amqplib';
import type { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RabbitConnection } from '../../src/platform/bus/rabbitmq';
import { replayDeadLetters } from '../../src/platform/events/dead-letters';
import { OutboxRelay } from '../../src/platform/events/outbox-relay';
import { Subscribers, type Subscription } from '../../src/platform/events/subscriber';
import { DEAD_LETTER_EXCHANGE, EVENTS_EXCHANGE, declareSubscriberQueue, dlqFor, queueFor } from '../../src/platform/events/topology';
import { createLogger } from '../../src/platform/logger';
import { TEST_ENV } from '../support/env';
import { append, connectInfra, count, deleteSubscriberQueues, log, openAdminChannel, uniqueType, until } from './support';

// Recovery of the event bus from what does not stop it: a dependency of a handler down for a
// while, channels closed by the broker while the connection stays up, a DLQ refilled as it is
// replayed, commits arriving while the relay backs off.

let infra: Awaited<ReturnType<typeof connectInfra>>;
let model: ChannelModel;
let admin: ConfirmChannel;
const subscribersToDelete: string[] = [];
const tablesToDrop: string[] = [];

beforeAll(async () => {
  infra = await connectInfra();
  ({ model, admin } = await openAdminChannel(infra.rabbit));
});
afterAll(async () => {
  await deleteSubscriberQueues(admin, subscribersToDelete);
  for (const table of tablesToDrop) await infra.sequelize.query(`DROP TABLE IF EXISTS ${table}`);
  await admin.close().catch(() => undefined);
  await infra.rabbit.stop();
  await infra.sequelize.close();
});

function subscription(handle: Subscription['handle'], events: string[], extra: Partial<Subscription> = {}): Subscription {
  const name = `test-${randomUUID().slice(0, 8)}`;
  subscribersToDelete.push(name);
  return { name, events, handle, ...extra };
}

/** A table the handler writes its effect to, in the inbox's transaction. */
async function effectsTable() {
  const table = `effects_${randomUUID().slice(0, 8)}`;
  await infra.sequelize.query(`CREATE TABLE ${table} (event_id text NOT NULL)`);
  tablesToDrop.push(table);
  return table;
}

/** A queue's counts, or null when it does not exist (checked on a channel of its own, which a 404 closes). */
async function queueInfo(queue: string) {
  const channel = await model.createChannel();
  channel.on('error', () => undefined);
  try {
    return await channel.checkQueue(queue);
  } catch {
    return null;
  } finally {
    await channel.close().catch(() => undefined);
  }
}

const dependencyDown = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:27017'), { code: 'ECONNREFUSED' });

// The channels the components keep to themselves, to break them the way the broker would.
const subscriberChannel = (subscribers: Subscribers, name: string) =>
  (subscribers as unknown as { consumers: Map<string, { channel: Channel }> }).consumers.get(name)?.channel;
const relayChannel = (relay: OutboxRelay) => (relay as unknown as { channel: ConfirmChannel | null }).channel;
const relayClient = (relay: OutboxRelay) => (relay as unknown as { client: Client | null }).client;

/** A channel-level error: the broker closes the channel (404) and leaves the connection up. */
const breakChannel = (channel: Channel) => channel.checkExchange(`missing-${randomUUID()}`).catch(() => undefined);

describe('subscribers', () => {
  it('when a dependency of the handler is down for a few seconds, then the held deliveries do not count (none is dead-lettered, even with a limit of 1), the subscriber pauses instead of cycling them, and each is handled once it is back', async () => {
    const type = uniqueType();
    const table = await effectsTable();
    let downSince = 0;
    let failures = 0;
    const sub = subscription(async (event, { transaction }) => {
      downSince ||= Date.now();
      if (Date.now() - downSince < 3000) {
        failures++;
        throw dependencyDown();
      }
      await infra.sequelize.query(`INSERT INTO ${table} (event_id) VALUES ($1)`, { bind: [event.id], transaction });
    }, [type], { deliveryLimit: 1 });
    const subscribers = new Subscribers({ ...infra, log });
    await subscribers.subscribe(sub);
    const relay = new OutboxRelay({ databaseUrl: TEST_ENV.DATABASE_URL, rabbit: infra.rabbit, log });
    await relay.start();
    try {
      await append(infra.sequelize, type, Array.from({ length: 5 }, (_, n) => ({ n })));
      await until(async () => (await count(infra.sequelize, `SELECT count(DISTINCT event_id) AS n FROM ${table}`, [])) === 5, 30_000, 'the 5 events handled');
      expect(await count(infra.sequelize, `SELECT count(*) AS n FROM ${table}`, [])).toBe(5);
      expect((await queueInfo(dlqFor(sub.name)))!.messageCount).toBe(0);
      expect(failures).toBeGreaterThan(0);
      // Pauses doubling from 50 ms fit a handful of attempts in 3 s; returning the messages
      // would have meant one failure per message and delivery.
      expect(failures).toBeLessThan(20);
    } finally {
      await relay.stop();
      await subscribers.stop();
    }
  }, 60_000);

  it('when a message fails on a dependency while others succeed, then it is held on its first delivery only, not again on each redelivery', async () => {
    const type = uniqueType();
    let poisonAttempts = 0;
    const sub = subscription(
      async (event) => {
        if ((event.payload as { n: number }).n !== 0) return;
        poisonAttempts += 1;
        throw dependencyDown();
      },
      [type],
      { deliveryLimit: 2 },
    );
    // Held 3 s, pauses doubling from 50 ms: at most about 7 attempts per hold, fewer under load.
    const subscribers = new Subscribers({ ...infra, log, transientHoldMs: 3_000 });
    await subscribers.subscribe(sub);
    const relay = new OutboxRelay({ databaseUrl: TEST_ENV.DATABASE_URL, rabbit: infra.rabbit, log });
    await relay.start();
    try {
      await append(infra.sequelize, type, [0, 1].map((n) => ({ n })));
      await until(async () => (await queueInfo(dlqFor(sub.name)))?.messageCount === 1, 45_000, 'the failing message in the DLQ');
      // One hold (first delivery, with the message the success then ends the run with) and one
      // attempt for the redelivery; held again, the redelivery would add another hold's worth.
      expect(poisonAttempts).toBeGreaterThanOrEqual(2);
      expect(poisonAttempts).toBeLessThanOrEqual(11);
    } finally {
      await relay.stop();
      await subscribers.stop();
    }
  }, 60_000);

  it('when a message keeps failing on a dependency past the hold, then it still ends in the DLQ and the others are handled', async () => {
    const type = uniqueType();
    const handled = new Set<number>();
    const sub = subscription(
      async (event) => {
        const n = (event.payload as { n: number }).n;
        if (n === 0) throw dependencyDown();
        handled.add(n);
      },
      [type],
      { deliveryLimit: 2 },
    );
    const subscribers = new Subscribers({ ...infra, log, transientHoldMs: 200 });
    await subscribers.subscribe(sub);
    const relay = new OutboxRelay({ databaseUrl: TEST_ENV.DATABASE_URL, rabbit: infra.rabbit, log });
    await relay.start();
    try {
      await append(infra.sequelize, type, [0, 1, 2, 3].map((n) => ({ n })));
      await until(async () => (await queueInfo(dlqFor(sub.name)))?.messageCount === 1, 30_000, 'the failing message in the DLQ');
      expect([...handled].sort()).toEqual([1, 2, 3]);
    } finally {
      await relay.stop();
      await subscribers.stop();
    }
  }, 60_000);

  it('when the broker cancels a consumer (its queue deleted), then the subscriber declares the queue again and goes on consuming', async () => {
    const type = uniqueType();
    const handled: string[] = [];
    const sub = subscription(async (event) => void handled.push(event.id), [type]);
    const subscribers = new Subscribers({ ...infra, log });
    await subscribers.subscribe(sub);
    const relay = new OutboxRelay({ databaseUrl: TEST_ENV.DATABASE_URL, rabbit: infra.rabbit, log });
    await relay.start();
    try {
      await admin.deleteQueue(queueFor(sub.name));
      await until(async () => (await queueInfo(queueFor(sub.name)))?.consumerCount === 1, 15_000, 'the queue declared and consumed again');
      const [event] = await append(infra.sequelize, type, [{ n: 1 }]);
      await until(async () => handled.includes(event!.id), 15_000, 'the event handled');
    } finally {
      await relay.stop();
      await subscribers.stop();
    }
  }, 60_000);

  it('when a subscription retires a type its queue is still bound to (an earlier release), then the binding is removed, a retired event already queued is acknowledged without reaching the handler, and the others are handled', async () => {
    const [kept, dropped] = [uniqueType('kept'), uniqueType('dropped')];
    const handled: string[] = [];
    const sub = subscription(async (event) => void handled.push(event.type), [kept], { retired: [dropped] });
    await declareSubscriberQueue(admin, sub.name, [kept, dropped], 5);
    const published = (type: string) => async () => (await count(infra.sequelize, 'SELECT count(*) AS n FROM events WHERE type = $1 AND published_at IS NULL', [type])) === 0;
    const subscribers = new Subscribers({ ...infra, log });
    const relay = new OutboxRelay({ databaseUrl: TEST_ENV.DATABASE_URL, rabbit: infra.rabbit, log });
    await relay.start();
    try {
      await append(infra.sequelize, dropped, [{ n: 1 }]);
      await until(async () => (await queueInfo(queueFor(sub.name)))?.messageCount === 1, 15_000, 'the retired event queued under the old binding');
      await subscribers.subscribe(sub);
      await until(async () => (await queueInfo(queueFor(sub.name)))?.messageCount === 0, 10_000, 'the retired event delivered');
      await append(infra.sequelize, kept, [{ n: 2 }]);
      await until(async () => handled.length === 1, 15_000, 'the kept type handled');
      await subscribers.stop();
      // Closing the channel returns what it did not settle; give the quorum queue a moment to
      // take it back before counting.
      await new Promise((r) => setTimeout(r, 500));
      expect(handled).toEqual([kept]);
      expect((await queueInfo(queueFor(sub.name)))?.messageCount).toBe(0);
      expect((await queueInfo(dlqFor(sub.name)))?.messageCount).toBe(0);
      // Nothing consumes now: a retired event routed to the queue would stay there. The relay marks
      // it published once the broker confirms it, which is after routing.
      await append(infra.sequelize, dropped, [{ n: 3 }]);
      await until(published(dropped), 15_000, 'the second retired event published');
      expect((await queueInfo(queueFor(sub.name)))?.messageCount).toBe(0);
      expect((await queueInfo(dlqFor(sub.name)))?.messageCount).toBe(0);
    } finally {
      await relay.stop();
      await subscribers.stop();
    }
  }, 60_000);

  it('when the queue is bound to a type the subscription neither takes nor retired (a newer release, mid rolling deploy), then the handler never sees it and it is returned until it is dead-lettered, not lost, while the others are handled', async () => {
    const [kept, newer] = [uniqueType('kept'), uniqueType('newer')];
    const handled: string[] = [];
    const sub = subscription(async (event) => void handled.push(event.type), [kept], { deliveryLimit: 2 });
    await declareSubscriberQueue(admin, sub.name, [kept, newer], 2);
    const subscribers = new Subscribers({ ...infra, log });
    await subscribers.subscribe(sub);
    const relay = new OutboxRelay({ databaseUrl: TEST_ENV.DATABASE_URL, rabbit: infra.rabbit, log });
    await relay.start();
    try {
      const [newerEvent] = await append(infra.sequelize, newer, [{ n: 1 }]);
      await append(infra.sequelize, kept, [{ n: 2 }]);
      await until(async () => handled.length === 1, 15_000, 'the kept type handled');
      await until(async () => (await queueInfo(dlqFor(sub.name)))?.messageCount === 1, 15_000, 'the newer type in the DLQ');
      expect(handled).toEqual([kept]);
      const deadLetter = await admin.get(dlqFor(sub.name), { noAck: true });
      expect(deadLetter && (JSON.parse(deadLetter.content.toString('utf8')) as { id: string }).id).toBe(newerEvent!.id);
    } finally {
      await relay.stop();
      await subscribers.stop();
    }
  }, 60_000);

  it('when a subscription both takes and retires a type, then subscribing fails (the unbind would stop the type arriving)', async () => {
    const type = uniqueType();
    const subscribers = new Subscribers({ ...infra, log });
    await expect(subscribers.subscribe(subscription(async () => undefined, [type], { retired: [type] }))).rejects.toThrow(/both takes and retires/);
    await subscribers.stop();
  });

  it('when a channel-level error closes a subscriber channel mid-batch, then it reopens it, the batch is applied once and an undecodable delivery left behind is dead-lettered without an unhandled rejection', async () => {
    const type = uniqueType();
    const table = await effectsTable();
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => void rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    let entered = false;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const sub = subscription(async (event, { transaction }) => {
      entered = true;
      await gate;
      await infra.sequelize.query(`INSERT INTO ${table} (event_id) VALUES ($1)`, { bind: [event.id], transaction });
    }, [type]);
    const subscribers = new Subscribers({ ...infra, log });
    await subscribers.subscribe(sub);
    const relay = new OutboxRelay({ databaseUrl: TEST_ENV.DATABASE_URL, rabbit: infra.rabbit, log });
    await relay.start();
    try {
      await append(infra.sequelize, type, [{ n: 1 }]);
      await until(async () => entered, 15_000, 'the handler running');
      admin.sendToQueue(queueFor(sub.name), Buffer.from('not an event'), { persistent: true });
      await admin.waitForConfirms();
      await until(async () => (await queueInfo(queueFor(sub.name)))?.messageCount === 0, 10_000, 'the undecodable message delivered');
      await breakChannel(subscriberChannel(subscribers, sub.name)!);
      release();
      const deadLettered = until(async () => (await queueInfo(dlqFor(sub.name)))?.messageCount === 1, 15_000, 'the undecodable message in the DLQ');
      await deadLettered.catch(() => undefined);
      expect(rejections).toEqual([]);
      await deadLettered;
      await until(async () => (await queueInfo(queueFor(sub.name)))?.consumerCount === 1, 10_000, 'a consumer again');
      expect(await count(infra.sequelize, `SELECT count(*) AS n FROM ${table}`, [])).toBe(1);
    } finally {
      process.off('unhandledRejection', onRejection);
      release();
      await relay.stop();
      await subscribers.stop();
    }
  }, 60_000);
});

describe('a lost connection', () => {
  it('when the broker closes the connection, then the subscriber and the relay resume on the next one, with one consumer', async () => {
    const type = uniqueType();
    const handled: string[] = [];
    const sub = subscription(async (event) => void handled.push(event.id), [type]);
    const connectionName = `test-${randomUUID().slice(0, 8)}`;
    const rabbit = new RabbitConnection(TEST_ENV.RABBITMQ_URL, log, connectionName);
    await rabbit.start();
    const subscribers = new Subscribers({ ...infra, rabbit, log });
    await subscribers.subscribe(sub);
    const relay = new OutboxRelay({ databaseUrl: TEST_ENV.DATABASE_URL, rabbit, log });
    await relay.start();
    try {
      const connections = execFileSync('rabbitmqctl', ['-q', '--no-table-headers', 'list_connections', 'pid', 'client_properties'], { encoding: 'utf8' }).split('\n');
      const ours = connections.find((line) => line.includes(`{"connection_name","${connectionName} (pid ${process.pid})"}`));
      execFileSync('rabbitmqctl', ['-q', 'close_connection', ours!.split('\t')[0]!, 'test: connection lost'], { stdio: 'ignore' });
      await until(async () => rabbit.adminChannel !== null && (await queueInfo(queueFor(sub.name)))?.consumerCount === 1, 15_000, 'the consumer back');
      const [event] = await append(infra.sequelize, type, [{ n: 1 }]);
      await until(async () => handled.includes(event!.id), 15_000, 'the event handled');
      await new Promise((r) => setTimeout(r, 1000)); // time for a second consumer, were one opened
      expect((await queueInfo(queueFor(sub.name)))?.consumerCount).toBe(1);
    } finally {
      await relay.stop();
      await subscribers.stop();
      await rabbit.stop();
    }
  }, 60_000);
});

describe('dead-letter replay', () => {
  it('when the handler still fails, then a replay moves what the DLQ held when it began and returns', async () => {
    const name = `test-${randomUUID().slice(0, 8)}`;
    subscribersToDelete.push(name);
    await declareSubscriberQueue(admin, name, [], 5);
    for (let n = 0; n < 30; n++) admin.publish(DEAD_LETTER_EXCHANGE, dlqFor(name), Buffer.from(JSON.stringify({ n })), { persistent: true });
    await admin.waitForConfirms();
    // The fastest broken handler: every message goes straight back to the DLQ.
    const bouncer = await model.createChannel();
    await bouncer.consume(queueFor(name), (msg) => msg && bouncer.reject(msg, false));
    const replayer = await model.createConfirmChannel();
    try {
      const replay = replayDeadLetters(replayer, name);
      const outcome = await Promise.race([replay, new Promise<'endless'>((r) => setTimeout(() => r('endless'), 15_000))]);
      expect(outcome).toBe(30);
    } finally {
      await bouncer.close().catch(() => undefined);
      await replayer.close().catch(() => undefined);
    }
  }, 30_000);
});

describe('outbox relay', () => {
  /** A tap on one event type at the exchange. */
  async function tap(type: string) {
    const received: string[] = [];
    const { queue } = await admin.assertQueue('', { exclusive: true, autoDelete: true });
    await admin.bindQueue(queue, EVENTS_EXCHANGE, type);
    await admin.consume(queue, (msg) => {
      if (!msg) return;
      received.push(String(msg.properties.messageId));
      admin.ack(msg);
    });
    return received;
  }

  it('when a channel-level error closes the relay channel, then the relay opens another and publishes the next events', async () => {
    const type = uniqueType();
    const received = await tap(type);
    const relay = new OutboxRelay({ databaseUrl: TEST_ENV.DATABASE_URL, rabbit: infra.rabbit, log });
    await relay.start();
    try {
      await until(async () => relay.isLeader, 60_000, 'the relay leading');
      const broken = relayChannel(relay)!;
      await breakChannel(broken);
      await append(infra.sequelize, type, [{ n: 1 }]);
      await until(async () => received.length === 1, 10_000, 'the event published');
      expect(relayChannel(relay)).not.toBe(broken);
    } finally {
      await relay.stop();
    }
  }, 90_000);

  it('when events are committed while the relay backs off, then their notifications do not cut the backoff short', async () => {
    const type = uniqueType();
    const lines: string[] = [];
    const relayLog = createLogger('warn', 'relay', { write: (line: string) => void lines.push(line) });
    const publisher = new RabbitConnection(TEST_ENV.RABBITMQ_URL, log, 'test-relay');
    await publisher.start();
    const relay = new OutboxRelay({ databaseUrl: TEST_ENV.DATABASE_URL, rabbit: publisher, log: relayLog });
    await relay.start();
    try {
      await until(async () => relay.isLeader, 60_000, 'the relay leading');
      await publisher.stop(); // every batch now fails: no broker channel
      for (let i = 0; i < 30; i++) {
        await append(infra.sequelize, type, [{ i }]);
        await new Promise((r) => setTimeout(r, 100));
      }
      const attempts = lines.filter((line) => line.includes('batch failed')).length;
      expect(attempts).toBeGreaterThan(0);
      // Backoff from 250 ms doubling: 3 s hold 4 or 5 attempts; one per commit would be 30.
      expect(attempts).toBeLessThanOrEqual(8);
    } finally {
      await relay.stop();
      await publisher.stop();
    }
    // Leave no stale outbox behind for the readiness checks of other tests.
    const drain = new OutboxRelay({ databaseUrl: TEST_ENV.DATABASE_URL, rabbit: infra.rabbit, log });
    await drain.start();
    try {
      await until(async () => (await count(infra.sequelize, 'SELECT count(*) AS n FROM events WHERE type = $1 AND published_at IS NULL', [type])) === 0, 60_000, 'the outbox drained');
    } finally {
      await drain.stop();
    }
  }, 150_000);

  it('when the relay connects to PostgreSQL, then its session (which holds the leader lock) has keepalives and timeouts', async () => {
    const relay = new OutboxRelay({ databaseUrl: TEST_ENV.DATABASE_URL, rabbit: infra.rabbit, log });
    await relay.start();
    try {
      await until(async () => relayClient(relay) !== null, 10_000, 'the relay connected');
      const show = async (setting: string) => (await relayClient(relay)!.query<Record<string, string>>(`SHOW ${setting}`)).rows[0]![setting];
      expect(await show('tcp_keepalives_idle')).toBe('10');
      expect(await show('tcp_keepalives_count')).toBe('3');
      expect(await show('statement_timeout')).toBe('30s');
      expect(await show('idle_in_transaction_session_timeout')).toBe('1min');
    } finally {
      await relay.stop();
    }
  });
});

describe('the shared admin channel', () => {
  it('when a channel-level error closes it while the connection stays up, then it is reopened', async () => {
    const broken = infra.rabbit.adminChannel!;
    await breakChannel(broken);
    await until(async () => infra.rabbit.adminChannel !== broken && (await infra.rabbit.ping().then(() => true, () => false)), 10_000, 'the admin channel back');
  });
});
